#!/usr/bin/env bash
# Installs, builds, and trains the default job: Fashion-MNIST for 15 minutes on the CPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
./build/vgrow train "$@"
