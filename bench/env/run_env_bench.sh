#!/usr/bin/env bash
# The env server benchmark matrix on loopback: agentgym-env-server (gRPC,
# unary and batched) against the AgentGym-style FastAPI/uvicorn server
# (agentgym_http_server.py, same env logic through libagentgym_env_capi.so),
# at several session counts. Prints one JSON line per run and a Markdown
# table at the end (what docs/benchmarks.md records).
#
#   bash bench/env/run_env_bench.sh                       # textcraft, 1 16 64 256
#   ENV=babyai SESSIONS="1 64" SECONDS_PER_RUN=3 bash bench/env/run_env_bench.sh
#   MODES="grpc-batched" ENV=maze bash bench/env/run_env_bench.sh
#   GRPC_API=sync MODES="grpc-unary grpc-batched" SESSIONS="64 256" bash bench/env/run_env_bench.sh
#
# GRPC_API (auto|callback|sync, default auto) is the server's --grpc-api.
#
# Needs a build with bench targets (AG_BUILD_DIR, default build/) and
# Debian's /usr/bin/python3 with python3-fastapi and python3-uvicorn.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${AG_BUILD_DIR:-$root/build}"
env_name="${ENV:-textcraft}"
sessions_list="${SESSIONS:-1 16 64 256}"
modes="${MODES:-grpc-unary grpc-batched http}"
seconds="${SECONDS_PER_RUN:-5}"
warmup="${WARMUP_SECONDS:-1}"
pipelines="${PIPELINES:-2}"
grpc_api="${GRPC_API:-auto}"
case "$grpc_api" in
  auto|callback|sync) ;;
  *) echo "GRPC_API must be auto, callback or sync (got '$grpc_api')" >&2; exit 2 ;;
esac
python="${AG_PYTHON3:-/usr/bin/python3}"

server_bin="$build/env_server/agentgym-env-server"
bench_bin="$build/bench/env/agentgym-env-bench"
capi="$build/bench/env/libagentgym_env_capi.so"
for f in "$server_bin" "$bench_bin" "$capi"; do
  [ -e "$f" ] || { echo "missing $f (build the bench targets first)" >&2; exit 1; }
done

workdir="$(mktemp -d)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$workdir"
}
trap cleanup EXIT

wait_for_file() {
  for _ in $(seq 200); do [ -s "$1" ] && return 0; sleep 0.05; done
  echo "server did not write $1; its log:" >&2
  cat "$2" >&2
  exit 1
}

grpc_port="" http_port=""
if [[ "$modes" == *grpc* ]]; then
  "$server_bin" --listen 127.0.0.1:0 --port-file "$workdir/grpc.port" --envs "$env_name" \
    --max-sessions 8192 --grpc-api "$grpc_api" --log-level info >"$workdir/grpc.log" 2>&1 &
  pids+=($!)
  wait_for_file "$workdir/grpc.port" "$workdir/grpc.log"
  grpc_port="$(cat "$workdir/grpc.port")"
  # The API the server chose (it logs "(callback gRPC API)" once, at start-up).
  served_api="$(grep -o '([a-z]* gRPC API)' "$workdir/grpc.log" | head -1 | tr -d '(' | cut -d' ' -f1)"
  if [ "$grpc_api" != auto ] && [ "$served_api" != "$grpc_api" ]; then
    echo "asked for GRPC_API=$grpc_api but the server serves '$served_api'; its log:" >&2
    cat "$workdir/grpc.log" >&2
    exit 1
  fi
  [ "$grpc_api" = auto ] && grpc_api="$served_api (auto)"
fi
if [[ "$modes" == *http* ]]; then
  "$python" "$root/bench/env/agentgym_http_server.py" --lib "$capi" --env "$env_name" \
    --port 0 --port-file "$workdir/http.port" >"$workdir/http.log" 2>&1 &
  pids+=($!)
  wait_for_file "$workdir/http.port" "$workdir/http.log"
  http_port="$(cat "$workdir/http.port")"
fi

echo "# env=$env_name grpc_api=$grpc_api seconds=$seconds pipelines=$pipelines nproc=$(nproc) load=$(cut -d' ' -f1-3 /proc/loadavg)"
results="$workdir/results.jsonl"
for n in $sessions_list; do
  for mode in $modes; do
    port="$grpc_port"
    [ "$mode" = http ] && port="$http_port"
    "$bench_bin" --mode "$mode" --target "127.0.0.1:$port" --env "$env_name" --sessions "$n" \
      --seconds "$seconds" --warmup-seconds "$warmup" --pipelines "$pipelines" | tee -a "$results"
  done
done

"$python" - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
by = {(r["sessions"], r["mode"]): r for r in rows}
modes = ["grpc-unary", "grpc-batched", "http"]
print()
print("| sessions | " + " | ".join(f"{m} steps/s (p50 / p99 ms)" for m in modes if any(k[1] == m for k in by)) + " | batched / http |")
print("|---:|" + "---:|" * (sum(1 for m in modes if any(k[1] == m for k in by)) + 1))
for n in sorted({k[0] for k in by}):
    cells = []
    for m in modes:
        if not any(k[1] == m for k in by):
            continue
        r = by.get((n, m))
        cells.append("-" if r is None else f"{r['steps_per_s']:,.0f} ({r['p50_ms']:.2f} / {r['p99_ms']:.2f})")
    b, h = by.get((n, "grpc-batched")), by.get((n, "http"))
    ratio = f"{b['steps_per_s'] / h['steps_per_s']:.1f}x" if b and h and h["steps_per_s"] > 0 else "-"
    print(f"| {n} | " + " | ".join(cells) + f" | {ratio} |")
errors = sum(r["errors"] for r in rows)
if errors:
    print(f"\nWARNING: {errors} errors", file=sys.stderr)
    sys.exit(1)
EOF
