#!/usr/bin/env bash
# Installs what is missing, builds, and runs every test (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${VGROW_SKIP_INSTALL:-}" ] || bash scripts/install-deps.sh
bash scripts/build.sh
cd build
ctest --output-on-failure --timeout 900 -j 2
