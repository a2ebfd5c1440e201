#!/usr/bin/env bash
# Unpacks what a vgrow build needs beyond LibTorch into third_party/prefix (git-ignored), for
# machines that reach no package registry (the GPU machines): run it here, carry
# third_party/prefix along, and configure with -DVGROW_DEPS_PREFIX=$PWD/third_party/prefix
# (scripts/gpu-check.sh does). Header-only libraries, zlib, and GoogleTest's sources (built
# there with the local compiler and LibTorch's ABI flag). Nothing is installed under /.
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(libcli11-dev libtomlplusplus-dev libstb-dev nlohmann-json3-dev googletest zlib1g zlib1g-dev)
debs=third_party/debs prefix=third_party/prefix
rm -rf "$debs" "$prefix"
mkdir -p "$debs" "$prefix"
(cd "$debs" && apt-get download "${packages[@]}")
for deb in "$debs"/*.deb; do dpkg -x "$deb" "$prefix"; done
# zlib1g-dev's libz.so points at /lib/...; point it into the prefix instead.
lib="$prefix/usr/lib/x86_64-linux-gnu"
real=$(ls "$prefix"/lib/x86_64-linux-gnu/libz.so.1.* 2>/dev/null | head -n 1 || true)
if [ -n "$real" ]; then
  mkdir -p "$lib"
  ln -sf "$(realpath --relative-to="$lib" "$real")" "$lib/libz.so"
fi
du -sh "$prefix"
