#!/usr/bin/env bash
# Configures and builds agentgym into build/ (Ninja, ccache). Extra arguments
# go to CMake, e.g. deploy/build.sh -DAG_WITH_TORCH=OFF
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${AG_BUILD_DIR:-$root/build}"
jobs="${AG_JOBS:-$(nproc)}"
export CCACHE_DIR="${CCACHE_DIR:-$HOME/.cache/agentgym-ccache}"
# Paths relative to the checkout, so another clone or build folder on the same
# machine (CI's fresh clone, a second build dir) hits the same cache entries.
export CCACHE_BASEDIR="${CCACHE_BASEDIR:-$root}"
export CCACHE_NOHASHDIR="${CCACHE_NOHASHDIR:-1}"
ccache --max-size=5G >/dev/null 2>&1 || true
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo "$@" >/dev/null
ninja -C "$build" -j "$jobs"
