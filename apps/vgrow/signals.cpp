#include "signals.h"

#include <atomic>
#include <csignal>
#include <cstdlib>

#include <unistd.h>

namespace vgrow::cli {
namespace {

std::atomic<int> g_stop_signals{0};

void on_stop_signal(int) {
  if (g_stop_signals.fetch_add(1) >= 1) std::_Exit(130);  // second Ctrl-C: leave at once
  static const char msg[] =
      "\nvgrow: stopping after this outer loop and writing a checkpoint (Ctrl-C again to quit "
      "now)\n";
  [[maybe_unused]] auto ignored = ::write(2, msg, sizeof(msg) - 1);  // async-signal-safe
}

}  // namespace

void install_training_signals() {
  std::signal(SIGINT, on_stop_signal);
  std::signal(SIGTERM, on_stop_signal);
  std::signal(SIGPIPE, SIG_IGN);
}

bool stop_requested() { return g_stop_signals.load() > 0; }

}  // namespace vgrow::cli
