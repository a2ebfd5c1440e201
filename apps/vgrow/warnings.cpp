#include "warnings.h"

#include <iostream>
#include <mutex>
#include <set>
#include <string>

#include <c10/util/Exception.h>
#include <torch/version.h>

namespace vgrow::cli {
namespace {

class ConsoleWarnings : public c10::WarningHandler {
 public:
#if TORCH_VERSION_MAJOR >= 2
  void process(const c10::Warning& warning) override { print(warning.msg()); }
#else
  void process(const c10::SourceLocation&, const std::string& msg, const bool) override {
    print(msg);
  }
#endif

 private:
  void print(const std::string& msg) {
    std::lock_guard<std::mutex> lock(mutex_);
    if (seen_.insert(msg).second) std::cerr << "vgrow: warning: " << msg << std::endl;
  }

  std::mutex mutex_;
  std::set<std::string> seen_;  // a warning repeated every loop is said once
};

}  // namespace

void install_console_warnings() {
  static ConsoleWarnings handler;
  c10::Warning::set_warning_handler(&handler);
}

}  // namespace vgrow::cli
