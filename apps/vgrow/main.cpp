// vgrow: deep generative learning by Variational Gradient Flow.
#include <iostream>

#include <c10/util/Exception.h>

#include "commands.h"
#include "warnings.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/run/runtime_settings.h"

int main(int argc, char** argv) {
  vgrow::prefer_runtime_settings(argv);
  vgrow::cli::install_console_warnings();
  CLI::App app{"vgrow: deep generative models learned by Variational Gradient Flow"};
  app.require_subcommand(1);
  vgrow::cli::add_train(app);
  vgrow::cli::add_sample(app);
  vgrow::cli::add_targets(app);
  vgrow::cli::add_eval(app);
  vgrow::cli::add_classifier(app);
  vgrow::cli::add_launch(app);
  vgrow::cli::add_bench(app);
  vgrow::cli::add_study(app);
  vgrow::cli::add_report(app);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  } catch (const vgrow::metrics::ClassifierNotFound& e) {
    std::cerr << "vgrow: error: " << e.what() << "; train it with `vgrow classifier train"
              << (e.dataset.empty() ? "" : " --dataset " + e.dataset) << " -o " << e.path
              << "`\n";
    return 1;
  } catch (const c10::Error& e) {
    std::cerr << "vgrow: error: " << e.what_without_backtrace() << "\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "vgrow: error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
