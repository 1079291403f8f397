#!/usr/bin/env bash
# The test command: installs dependencies, builds everything, runs every test
# (labels: unit, integration, e2e). Pass ctest arguments to narrow it, e.g.
#   bash tests/run-all.sh -L unit
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/deploy/install-deps.sh"
bash "$root/deploy/build.sh"
cd "${AG_BUILD_DIR:-$root/build}"
ctest --output-on-failure --timeout 900 -j "${AG_TEST_JOBS:-2}" "$@"
