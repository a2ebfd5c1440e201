#include "vgrow/run/runtime_settings.h"

#include <cstdlib>

#include <unistd.h>

namespace vgrow {

void prefer_runtime_settings(char** argv) {
  if (std::getenv("VGROW_REEXECUTED") != nullptr) return;
  ::setenv("VGROW_REEXECUTED", "1", 1);
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  ::setenv("GLIBC_TUNABLES",
           "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184", 0);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
}

}  // namespace vgrow
