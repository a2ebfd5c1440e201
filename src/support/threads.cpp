#include "vgrow/support/threads.h"

#include <dlfcn.h>

#include <c10/util/Exception.h>
#include <torch/torch.h>

namespace vgrow {

void set_compute_threads(int n, int blas_threads) {
  TORCH_CHECK(n >= 1, "the number of threads must be at least 1, got ", n);
  torch::set_num_threads(n);
  // Looked up, not linked: the BLAS behind libblas.so.3 is chosen at install time.
  using SetThreads = void (*)(int);
  if (auto* set = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    set(blas_threads > 0 ? blas_threads : n);
  }
}

}  // namespace vgrow
