#pragma once
// Process-wide settings that libgomp and glibc read only at start-up, applied by
// re-executing the program once (the CLI and the benchmark programs call this first):
// - OMP_WAIT_POLICY=PASSIVE: idle OpenMP threads spin by default; on a shared machine that
//   made 2 threads 3-4x slower than 1 (shared/LIBTORCH-NOTES.md);
// - GLIBC_TUNABLES with high mmap and trim thresholds: glibc otherwise hands large freed
//   blocks back to the kernel at once, and every activation of the flow step was
//   page-faulted in anew (system time of a short width-32 loop 9.7 s -> 5.2 s, flow step
//   1.5x faster; docs/benchmarks.md).
// Values the user has set are kept. Returns only if the re-exec was already done or failed.

namespace vgrow {

void prefer_runtime_settings(char** argv);

}  // namespace vgrow
