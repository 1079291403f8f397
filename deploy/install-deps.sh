#!/usr/bin/env bash
# Installs every build and run dependency of agentgym from Debian packages.
# Used by the README's commands, .ci/run and deploy/docker/Dockerfile.
set -euo pipefail

packages=(
  # toolchain
  build-essential cmake ninja-build ccache pkg-config git
  # libraries
  libgrpc++-dev protobuf-compiler-grpc libprotobuf-dev protobuf-compiler
  libabsl-dev libspdlog-dev libfmt-dev libyaml-cpp-dev nlohmann-json3-dev
  libcli11-dev libcpp-httplib-dev libpcre2-dev libutf8proc-dev libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  # LibTorch (CPU) and c10d Gloo; OpenBLAS, or LibTorch runs on the reference
  # BLAS (~15x slower matmuls, see docs/benchmarks.md)
  libtorch-dev libgloo-dev libopenblas0-pthread
  # Python side: SDK, stubs, HTTP reference server, bench baselines
  python3 python3-grpcio python3-protobuf python3-fastapi python3-uvicorn
  python3-torch
  # tests: network namespaces, process tools, certificates for the TLS tests
  iproute2 procps openssl
)

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
