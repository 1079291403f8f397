#!/usr/bin/env bash
# The main job, locally on a CPU: installs dependencies, builds, starts an env
# server with the built-in envs and plays a scripted episode of each through
# the gRPC client, then shuts the server down with SIGTERM.
#
# (Local training on the embedded default replaces the scripted episodes once
# the actor and learner land; the env server part stays.)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AG_BUILD_DIR:-$root/build}"
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh"

workdir="$(mktemp -d)"
"$build/env_server/agentgym-env-server" --listen 127.0.0.1:0 \
  --port-file "$workdir/port" >"$workdir/server.log" 2>&1 &
server_pid=$!
cleanup() { kill -TERM "$server_pid" 2>/dev/null || true; wait "$server_pid" 2>/dev/null || true; rm -rf "$workdir"; }
trap cleanup EXIT

for _ in $(seq 100); do [ -s "$workdir/port" ] && break; sleep 0.1; done
[ -s "$workdir/port" ] || { cat "$workdir/server.log"; echo "env server did not start" >&2; exit 1; }
target="127.0.0.1:$(cat "$workdir/port")"
echo "env server on $target"

status=0
for env in ${AG_ENVS:-textcraft babyai}; do
  "$build/env_server/agentgym-env-play" --target "$target" --env "$env" --seed 7 --scripted || status=1
done
exit $status
