#include "vgrow/io/progress.h"

#include <algorithm>
#include <cstdio>

namespace vgrow::io {

std::string format_duration(double seconds) {
  const auto s = static_cast<long long>(std::max(0.0, seconds) + 0.5);
  char buf[32];
  if (s >= 3600) {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld:%02lld", s / 3600, (s / 60) % 60, s % 60);
  } else {
    std::snprintf(buf, sizeof(buf), "%lld:%02lld", s / 60, s % 60);
  }
  return buf;
}

ProgressMeter::ProgressMeter(int64_t first_loop, int64_t last_loop, double minutes)
    : first_(first_loop), last_(last_loop), minutes_(minutes),
      start_(std::chrono::steady_clock::now()) {}

double ProgressMeter::elapsed_seconds() const {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool ProgressMeter::out_of_time() const {
  return minutes_ > 0 && elapsed_seconds() >= 60.0 * minutes_;
}

std::string ProgressMeter::line(int64_t loop) const {
  const double elapsed = elapsed_seconds();
  const int64_t done = loop + 1 - first_;
  const double per_loop = done > 0 ? elapsed / static_cast<double>(done) : 0.0;
  double eta = per_loop * static_cast<double>(last_ - loop - 1);
  if (minutes_ > 0) eta = std::min(eta, 60.0 * minutes_ - elapsed);
  char buf[128];
  std::snprintf(buf, sizeof(buf), "[%6lld/%lld] %7.2f s/loop  elapsed %s  ETA %s",
                static_cast<long long>(loop + 1), static_cast<long long>(last_), per_loop,
                format_duration(elapsed).c_str(), format_duration(eta).c_str());
  return buf;
}

}  // namespace vgrow::io
