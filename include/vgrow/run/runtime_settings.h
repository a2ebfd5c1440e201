#pragma once
// Process-wide settings that libgomp and glibc read only at start-up, applied by
// re-executing the program once (the CLI and the benchmark programs call this first):
// - GOMP_SPINCOUNT=5000: an idle OpenMP thread spins ~50 us for the next parallel region,
//   then sleeps. libgomp's default (3 ms) made 2 threads 3-4x slower than 1 on a shared
//   machine (shared/LIBTORCH-NOTES.md); not spinning at all (OMP_WAIT_POLICY=PASSIVE, used
//   before) cost a futex wake-up per operator: the default job ran 1.3x slower alone, and
//   1.15x faster with two jobs on two cores (docs/benchmarks.md). Not set when the user set
//   OMP_WAIT_POLICY or GOMP_SPINCOUNT;
// - GLIBC_TUNABLES with high mmap and trim thresholds: glibc otherwise hands large freed
//   blocks back to the kernel at once, and every activation of the flow step was
//   page-faulted in anew (system time of a short width-32 loop 9.7 s -> 5.2 s, flow step
//   1.5x faster; docs/benchmarks.md).
// Values the user has set are kept. Returns only if the re-exec was already done or failed.

namespace vgrow {

void prefer_runtime_settings(char** argv);

// run.reproducible: fp32 arithmetic that is bit-identical on every x86-64 CPU with AVX2 (and
// FMA) for the same run.threads. Which kernels LibTorch runs depends on the CPU: ATen's
// vector width, OpenBLAS's kernel family (chosen when the library loads) and oneDNN's
// convolutions, whose blocking follows the cache sizes. So the program restarts once with
// ATen at AVX2 and OpenBLAS at its Haswell kernels, and make_trainer turns oneDNN off (the
// convolutions then run as im2col products in OpenBLAS). Call before anything is written:
// the restart runs the same command line again. Returns at once when already pinned.
void pin_reproducible_kernels();
bool reproducible_kernels_pinned();

}  // namespace vgrow
