#pragma once
// One progress line per interval: loop, rate and ETA (to the loop or time budget).

#include <chrono>
#include <cstdint>
#include <string>

namespace vgrow::io {

class ProgressMeter {
 public:
  // Counts loops from `first_loop` to `last_loop` (exclusive) within `minutes` (0 = none).
  ProgressMeter(int64_t first_loop, int64_t last_loop, double minutes);
  // "[    12/100]    3.10 s/loop  elapsed 0:37  ETA 4:33" after `loop` (0-based) finished.
  std::string line(int64_t loop) const;
  double elapsed_seconds() const;
  bool out_of_time() const;

 private:
  int64_t first_, last_;
  double minutes_;
  std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);

}  // namespace vgrow::io
