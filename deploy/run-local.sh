#!/usr/bin/env bash
# The main job, locally on a CPU: installs the Debian packages, builds the
# binaries, and trains the embedded default (configs/tiny-grid-grpo.yaml):
# a tiny transformer learns from random init, by RL alone, to walk to the goal
# on the maze env's open 4x4 grid, under `agentgym train` (coordinator, env
# server, learner, actor as supervised processes). A few minutes on 2 cores.
# At the end it evaluates the final checkpoint on held-out tasks and writes
# runs/<name>-<time>/summary.md (plots + eval table).
#
#   bash deploy/run-local.sh [--config configs/X.yaml] [--set a.b=v ...]
#
# AG_BUILD_DIR picks the build folder (default build/), AG_RUN_ROOT where run
# directories go (default runs/).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AG_BUILD_DIR:-$root/build}"
runs="${AG_RUN_ROOT:-$root/runs}"
bash "$root/deploy/install-deps.sh"

export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/agentgym-ccache}"
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
# Only what the main job runs (the tests build with tests/run-all.sh).
ninja -C "$build" -j "${AG_JOBS:-$(nproc)}" agentgym agentgym-coordinator agentgym-env-server \
  agentgym-learner agentgym-actor

args=("$@")
if [ ${#args[@]} -eq 0 ]; then args=(--config "$root/configs/tiny-grid-grpo.yaml"); fi
status=0
"$build/launcher/agentgym" train --run-root "$runs" "${args[@]}" || status=$?
latest="$(ls -td "$runs"/*/ 2>/dev/null | head -1 || true)"
if [ -n "$latest" ] && [ -f "$latest/summary.md" ]; then
  echo "summary: ${latest%/}/summary.md"
fi
exit $status
