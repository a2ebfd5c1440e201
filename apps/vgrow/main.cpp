// vgrow: deep generative learning by Variational Gradient Flow.
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include <c10/util/Exception.h>

#include "commands.h"

namespace {

// Settings read once at process start, so set by re-executing once:
// - idle OpenMP threads spin by default; on a shared machine that made 2 threads 3-4x
//   slower than 1 (LIBTORCH-NOTES);
// - glibc returns large freed blocks to the kernel at once, so every activation of the
//   flow step was page-faulted in anew: a third of a width-32 loop went to system time.
//   Keeping freed memory (high mmap and trim thresholds) cut that to ~2 % (bench, 1.6x
//   faster flow step).
void prefer_runtime_settings(char** argv) {
  if (std::getenv("VGROW_REEXECUTED") != nullptr) return;
  ::setenv("VGROW_REEXECUTED", "1", 1);
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 0);
  ::setenv("GLIBC_TUNABLES",
           "glibc.malloc.mmap_threshold=4294967296:glibc.malloc.trim_threshold=17179869184", 0);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_runtime_settings(argv);
  CLI::App app{"vgrow: deep generative models learned by Variational Gradient Flow"};
  app.require_subcommand(1);
  vgrow::cli::add_train(app);
  vgrow::cli::add_sample(app);
  vgrow::cli::add_targets(app);
  vgrow::cli::add_eval(app);
  vgrow::cli::add_classifier(app);
  vgrow::cli::add_launch(app);
  vgrow::cli::add_bench(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const c10::Error& e) {
    std::cerr << "vgrow: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vgrow: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
