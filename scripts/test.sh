#!/usr/bin/env bash
# Installs what is missing, builds, runs every test, then builds examples/ against the
# installed package (what CI runs).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -n "${VGROW_SKIP_INSTALL:-}" ] || bash scripts/install-deps.sh
bash scripts/build.sh
(cd build && ctest --output-on-failure --timeout 900 -j 2)
bash scripts/test-install.sh
