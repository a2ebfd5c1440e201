#!/usr/bin/env bash
# The whole device check for a GPU machine, in one script so it fits a short device budget:
# build against the machine's PyTorch (found through torch.utils.cmake_prefix_path), run the
# unit tests (the Cuda.* tests run only where there is a GPU), then time the paper's CIFAR-10
# loop at width 128 (pool 20x64, T = 20) for the authors' code and for vgrow in fp32 and bf16,
# and vgrow's flow step with and without CUDA graphs (does the capture pay?).
#
# Prepare on a machine with the network, then carry the ignored paths along:
#   bash scripts/gpu-deps.sh                                     # third_party/prefix
#   /usr/bin/python3 bench/synthetic_cifar10.py third_party/cifar  # random CIFAR-10 files
#   cp -r /path/to/your/VGrow third_party/VGrow                  # the authors' code, fetched
#                                                                # yourself, never committed
# Then, on the GPU machine: OUT=/some/folder bash scripts/gpu-check.sh
# WIDTH, POOL_BATCHES, PARTICLE_STEPS and THREADS change the compared loop (a CPU dry run:
# WIDTH=8 POOL_BATCHES=1 PARTICLE_STEPS=1 THREADS=2); VGROW_CMAKE_ARGS adds CMake options.
# Every log and result lands in $OUT (default gpu-check-out); the script goes on after a
# failing step and exits non-zero at the end if any step failed.
set -uo pipefail
cd "$(dirname "$0")/.."
out=${OUT:-gpu-check-out}
python=${PYTHON:-python3}
mkdir -p "$out"
failed=()
step() {  # step NAME COMMAND...: runs it, logs to $out/NAME.log, remembers a failure
  local name=$1
  shift
  echo "== $name" >&2
  local start=$SECONDS
  if "$@" >"$out/$name.log" 2>&1; then
    echo "   ok in $((SECONDS - start)) s" >&2
  else
    echo "   FAILED in $((SECONDS - start)) s (see $out/$name.log)" >&2
    failed+=("$name")
  fi
}

nvidia-smi >"$out/nvidia-smi.txt" 2>&1
"$python" -c 'import torch; print(torch.__version__, torch.version.cuda, torch.cuda.is_available(),
torch.cuda.get_device_name(0) if torch.cuda.is_available() else "")' >"$out/torch.txt" 2>&1
prefix=$("$python" -c 'import torch.utils; print(torch.utils.cmake_prefix_path)')
step configure cmake -S . -B build-gpu -G Ninja -DCMAKE_PREFIX_PATH="$prefix" \
  -DVGROW_DEPS_PREFIX="$PWD/third_party/prefix" -DVGROW_BUILD_BENCH=OFF ${VGROW_CMAKE_ARGS:-}
step build cmake --build build-gpu -j "$(nproc)"
# The long CPU training tests are CI's; here the GPU paths, the CLI and everything quick.
step ctest bash -c "cd build-gpu && ctest -j 8 --timeout 300 --output-on-failure \
  -E 'ToyLearning|ImageTraining|DistributedTraining|Bf16WithLossScaling'"
if [ -d third_party/VGrow ] && [ -d third_party/cifar ]; then
  for precision in fp32 bf16; do
    step "compare-cifar10-w128-$precision" bash bench/compare-reference.sh \
      --repo third_party/VGrow --vgrow build-gpu/vgrow --dataset cifar10 \
      --cifar-dir third_party/cifar --width "${WIDTH:-128}" --threads "${THREADS:-8}" \
      --pool-batches "${POOL_BATCHES:-20}" --particle-steps "${PARTICLE_STEPS:-20}" \
      --loops 3 --warmup 1 \
      --precision "$precision"
  done
  # Graphs off and on, alternating, 2 rounds; the JSON lines' seconds_flow tell the difference.
  graphs_bench() {
    for round in 1 2; do
      for precision in fp32 bf16; do
        for graphs in false true; do
          build-gpu/vgrow bench paper-cifar10 data.path=third_party/cifar/cifar-10-batches-bin \
            model.g_width="${WIDTH:-128}" model.d_width="${WIDTH:-128}" \
            flow.pool_batches="${POOL_BATCHES:-20}" flow.particle_steps="${PARTICLE_STEPS:-20}" \
            run.threads="${THREADS:-8}" run.precision="$precision" run.cuda_graphs="$graphs" \
            --loops 3 --warmup 1 | tail -n 1 || return 1
        done
      done
    done
  }
  step bench-cuda-graphs graphs_bench
else
  echo "no third_party/VGrow or third_party/cifar: comparison skipped" | tee "$out/compare.log" >&2
  failed+=(compare)
fi
if [ ${#failed[@]} -gt 0 ]; then
  echo "failed: ${failed[*]}" >&2
  exit 1
fi
echo "all steps passed; results in $out" >&2
