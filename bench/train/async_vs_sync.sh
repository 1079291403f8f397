#!/usr/bin/env bash
# Asynchronous against round-synchronous training, same hardware, same run
# length: `agentgym train` on the embedded default with every env reply
# delayed by a jittered 5-50 ms (the env server's fault injection), once with
# a staleness bound (actors run ahead of the learner by up to that many
# versions) and once strictly on-policy (max_staleness 0: each step waits for
# rollouts of its own policy version, as AgentGym-RL's rounds do). Prints,
# per mode, trajectories trained per second of wall time, the learner's idle
# fraction (time waiting for data / step time) and where a step's time goes.
#
#   bash bench/train/async_vs_sync.sh [STEPS] [STALENESS]   (default 60, 2)
#
# AG_BUILD_DIR picks the build folder (default build/); needs the binaries
# built (bash deploy/run-local.sh builds them). Figures: docs/benchmarks.md.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
build="${AG_BUILD_DIR:-$root/build}"
steps="${1:-60}"
staleness="${2:-2}"
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

run() {  # mode max_staleness
  "$build/launcher/agentgym" train --config "$root/configs/tiny-grid-grpo.yaml" \
    --run-root "$out/$1" --set run.total_steps="$steps" --set run.eval.enabled=false \
    --set learner.max_staleness="$2" --set env_server.faults.delay_ms=5:50 \
    --set learner.checkpoint_every=1000000 --set run.progress_interval_s=30 >"$out/$1.log" 2>&1 \
    || { echo "agentgym train ($1) failed:"; tail -20 "$out/$1.log"; exit 1; }
}

summarize() {  # mode
  /usr/bin/python3 - "$1" "$(ls -d "$out/$1"/*/)" <<'PY'
import json, sys
mode, run_dir = sys.argv[1], sys.argv[2]
rows = [json.loads(l) for l in open(run_dir + "/learner-metrics.jsonl")]
# Skip the first step (start-up: model load, first rollouts) for rates.
first, last = rows[0], rows[-1]
wall = (last["unix_ms"] - first["unix_ms"]) / 1000.0
trained = sum(r["sequences"] for r in rows[1:])
# time_step_s is the step's compute; time_wait_data_s the wait before it.
step_t = sum(r["time_step_s"] + r["time_wait_data_s"] for r in rows[1:])
def share(key):
    return sum(r[key] for r in rows[1:]) / step_t if step_t > 0 else 0.0
stale = last["accounting"].get("stale", 0)
print(f"{mode:>6}: {len(rows)} steps, {trained / wall:7.1f} trajectories/s trained "
      f"({trained} in {wall:.1f} s after step 1), learner idle {share('time_wait_data_s'):.2f}, "
      f"forward/backward {share('time_forward_backward_s'):.2f}, optimizer "
      f"{share('time_optimizer_s'):.3f}, publish {share('time_publish_s'):.3f}; "
      f"stale dropped {stale}")
PY
}

echo "agentgym train, tiny-grid-grpo, $steps steps, env replies delayed 5-50 ms, $(nproc) cores"
run async "$staleness"
run sync 0
summarize async
summarize sync
