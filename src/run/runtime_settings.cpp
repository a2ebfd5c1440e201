#include "vgrow/run/runtime_settings.h"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <unistd.h>

#include <c10/util/Exception.h>

namespace vgrow {
namespace {

char** saved_argv = nullptr;

constexpr const char* kPinned = "VGROW_REPRODUCIBLE_KERNELS";

}  // namespace

void prefer_runtime_settings(char** argv) {
  saved_argv = argv;
  if (std::getenv("VGROW_REEXECUTED") != nullptr) return;
  ::setenv("VGROW_REEXECUTED", "1", 1);
  // About 50 us of spinning (libgomp counts ~100000 spins per ms), then sleep.
  if (std::getenv("OMP_WAIT_POLICY") == nullptr && std::getenv("GOMP_SPINCOUNT") == nullptr) {
    ::setenv("GOMP_SPINCOUNT", "5000", 0);
  }
  ::setenv("GLIBC_TUNABLES",
           "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184", 0);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
}

bool reproducible_kernels_pinned() {
  const char* v = std::getenv(kPinned);
  return v != nullptr && std::strcmp(v, "1") == 0;
}

void pin_reproducible_kernels() {
  if (reproducible_kernels_pinned()) return;
  TORCH_CHECK(saved_argv != nullptr,
              "run.reproducible: the kernels are chosen when the process starts; call "
              "vgrow::prefer_runtime_settings(argv) first in main, or start the process with ",
              kPinned, "=1 ATEN_CPU_CAPABILITY=avx2 OPENBLAS_CORETYPE=Haswell");
  // Overwritten even where the user set them: any other value would break the promise.
  ::setenv("ATEN_CPU_CAPABILITY", "avx2", 1);
  ::setenv("OPENBLAS_CORETYPE", "Haswell", 1);
  ::setenv(kPinned, "1", 1);
  ::execv("/proc/self/exe", saved_argv);
  TORCH_CHECK(false, "run.reproducible: could not restart the program with pinned kernels: ",
              std::strerror(errno));
}

}  // namespace vgrow
