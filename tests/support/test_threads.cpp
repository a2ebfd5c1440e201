// run.threads is a promise: LibTorch's threads and OpenBLAS's (Debian's BLAS) follow it.
#include <dlfcn.h>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/support/threads.h"

namespace {

TEST(Threads, LibTorchAndOpenBlasUseTheNumberGiven) {
  using GetThreads = int (*)();
  auto* openblas = reinterpret_cast<GetThreads>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  const int before = torch::get_num_threads();
  for (const int n : {1, 2}) {
    vgrow::set_compute_threads(n);
    EXPECT_EQ(torch::get_num_threads(), n);
    if (openblas) EXPECT_EQ(openblas(), n);
  }
  vgrow::set_compute_threads(before);
  EXPECT_THROW(vgrow::set_compute_threads(0), c10::Error);
}

}  // namespace
