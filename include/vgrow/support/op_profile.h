#pragma once
// Where a stretch of LibTorch work spends its time, operator by operator: LibTorch's own
// profiler (the CPU events every ATen operator records) summed by name. Self time is an
// operator's time less the operators it called, so the self times of a stretch add up to the
// time spent inside operators; the rest is framework and host code between them.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace vgrow {

struct OpTime {
  std::string name;
  int64_t calls = 0;
  double self_ms = 0;   // inside the operator itself, its callees excluded
  double total_ms = 0;  // inside the operator and its callees (outermost call only)
};

// Profiles every thread's operators from construction until stop().
class OpProfile {
 public:
  OpProfile();
  ~OpProfile();
  OpProfile(const OpProfile&) = delete;
  OpProfile& operator=(const OpProfile&) = delete;
  // Ends profiling; operators sorted by self time, largest first.
  std::vector<OpTime> stop();

 private:
  bool running_ = false;
};

// The summary as text: the top `rows` operators by self time, with their share of `of_ms`.
std::string format_op_table(const std::vector<OpTime>& ops, double of_ms, size_t rows);

}  // namespace vgrow
