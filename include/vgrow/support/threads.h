#pragma once
// How many CPU threads the math may use.

namespace vgrow {

// LibTorch's intra-op threads and, when LibTorch's BLAS is OpenBLAS (Debian's libtorch),
// OpenBLAS's own pool, which LibTorch leaves at one thread per core: with `run.threads = 1`
// the MLPs' matrix products still spun a second thread, and two runs side by side (ctest -j2)
// fought over the cores. blas_threads (0: n) sets OpenBLAS's pool alone. n < 1 is refused.
void set_compute_threads(int n, int blas_threads = 0);

}  // namespace vgrow
