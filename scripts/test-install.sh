#!/usr/bin/env bash
# The installed package as another project uses it: `cmake --install` of ./build into a
# fresh prefix, then examples/ built against it with find_package(vgrow) and run, and one
# example built again with pkg-config's flags alone. Nothing of the build tree is used.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=$(mktemp -d /tmp/vgrow-install.XXXXXX)
work=$(mktemp -d /tmp/vgrow-examples.XXXXXX)
trap 'rm -rf "$prefix" "$work"' EXIT
cmake --install build --prefix "$prefix" > "$work/install.log"
test -f "$prefix/lib/cmake/vgrow/vgrowConfig.cmake"
test -f "$prefix/include/vgrow/vgrow.h"
test -x "$prefix/bin/vgrow"
echo "installed into $prefix: $(find "$prefix" -type f | wc -l) files"

cmake -S examples -B "$work/build" -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_CXX_COMPILER_LAUNCHER="$(command -v ccache || true)" > "$work/configure.log"
cmake --build "$work/build"
"$work/build/flow_particles"
"$work/build/flow_particles" js
"$work/build/train_points" "" 150

export PKG_CONFIG_PATH="$prefix/lib/pkgconfig"
# shellcheck disable=SC2046
c++ -O2 examples/flow_particles.cpp -o "$work/flow_particles_pc" \
  $(pkg-config --cflags vgrow) $(pkg-config --libs vgrow)
"$work/flow_particles_pc" logd
# The installed CLI finds its installed presets.
"$prefix/bin/vgrow" train toy-8gaussians --dry-run > "$work/dry-run.toml"
grep -q "^dataset = 'toy'" "$work/dry-run.toml"
echo "install test: find_package(vgrow) and pkg-config builds passed"
