// vgrow: deep generative learning by Variational Gradient Flow.
#include <cstdlib>
#include <iostream>

#include <unistd.h>

#include <c10/util/Exception.h>

#include "commands.h"

namespace {

// Idle OpenMP threads spin by default; on a shared machine that made 2 threads 3-4x slower
// than 1 (LIBTORCH-NOTES). libgomp reads the policy when it loads, so re-exec once with it.
void prefer_passive_openmp(char** argv) {
  if (std::getenv("OMP_WAIT_POLICY") != nullptr) return;
  ::setenv("OMP_WAIT_POLICY", "PASSIVE", 1);
  ::execv("/proc/self/exe", argv);  // returns only on failure: carry on as we are
}

}  // namespace

int main(int argc, char** argv) {
  prefer_passive_openmp(argv);
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
