#!/usr/bin/env bash
# Configures and builds the clang AddressSanitizer + UndefinedBehaviorSanitizer build, with
# the libFuzzer targets, into ./build-sanitize (shared by sanitize.sh and fuzz.sh).
# Usage: scripts/build-sanitize.sh [ninja target...]   (default: everything)
set -euo pipefail
cd "$(dirname "$0")/.."
cxx=$(command -v clang++-14 || command -v clang++ || true)
[ -n "$cxx" ] || { echo "build-sanitize.sh: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2; exit 1; }
launcher=()
if command -v ccache >/dev/null; then launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache); fi
# -O1 and line tables only: sanitizer reports get file:line, the build stays quick.
cmake -S . -B build-sanitize -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DVGROW_SANITIZE=ON -DVGROW_FUZZ=ON -DVGROW_BUILD_BENCH=OFF
if [ $# -gt 0 ]; then set -- --target "$@"; fi
cmake --build build-sanitize -j "${VGROW_JOBS:-2}" "$@"
