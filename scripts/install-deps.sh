#!/usr/bin/env bash
# Installs every Debian 12 package vgrow needs to build, test and run its default job
# (chromium: the browser test of `vgrow report`, headless).
set -euo pipefail
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update
$SUDO apt-get install -y --no-install-recommends \
  build-essential cmake ninja-build ccache pkg-config \
  libtorch-dev libgloo-dev libopenblas-dev \
  libcli11-dev libtomlplusplus-dev libstb-dev zlib1g-dev nlohmann-json3-dev \
  libgtest-dev libgmock-dev googletest libbenchmark-dev \
  gnuplot-nox dataset-fashion-mnist \
  chromium \
  clang-14 libclang-rt-14-dev llvm-14  # sanitizer + fuzz build (libFuzzer, llvm-symbolizer)
