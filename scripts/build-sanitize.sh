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
# The unit tests of the code that reads bytes, files and user text (support, io, data, the
# config and TOML parsers), without the CLI: the numerical layers are plain tensor code, the
# CLI's end-to-end tests run in the normal build, and the fuzzers cover every parser besides.
# This keeps CI's two builds within budget.
tests='^(support|io|data)/|^run/test_(config|toml_parse)\.cpp$'
# -O1 and line tables only: sanitizer reports get file:line, the build stays quick.
cmake -S . -B build-sanitize -G Ninja -DCMAKE_CXX_COMPILER="$cxx" "${launcher[@]}" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo "-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O1 -gline-tables-only" \
  -DVGROW_SANITIZE=ON -DVGROW_FUZZ=ON -DVGROW_BUILD_BENCH=OFF "-DVGROW_TEST_FILTER=${VGROW_SANITIZE_TESTS:-$tests}" \
  -DVGROW_TESTS_RUN_THE_CLI="$([ -n "${VGROW_SANITIZE_TESTS:-}" ] && echo ON || echo OFF)"
if [ $# -gt 0 ]; then set -- --target "$@"; fi
cmake --build build-sanitize -j "${VGROW_JOBS:-2}" "$@"
