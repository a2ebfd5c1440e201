#include "vgrow/support/op_profile.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include <torch/csrc/autograd/profiler_legacy.h>

namespace vgrow {

namespace prof = torch::autograd::profiler;

OpProfile::OpProfile() {
  prof::enableProfilerLegacy(
      torch::profiler::impl::ProfilerConfig(torch::profiler::impl::ProfilerState::CPU));
  running_ = true;
}

OpProfile::~OpProfile() {
  if (running_) prof::disableProfilerLegacy();
}

std::vector<OpTime> OpProfile::stop() {
  running_ = false;
  const auto lists = prof::disableProfilerLegacy();
  std::map<std::string, OpTime> by_name;
  struct Open {
    const prof::LegacyEvent* push;
    double child_us = 0;
  };
  for (const auto& events : lists) {
    // Each list is one thread's; its pushes and pops nest.
    std::vector<Open> stack;
    for (const auto& e : events) {
      if (e.kind() == prof::EventKind::PushRange) {
        stack.push_back({&e});
      } else if (e.kind() == prof::EventKind::PopRange && !stack.empty()) {
        const auto open = stack.back();
        stack.pop_back();
        const double us = open.push->cpuElapsedUs(e);
        auto& t = by_name[open.push->name()];
        t.name = open.push->name();
        ++t.calls;
        t.self_ms += (us - open.child_us) / 1e3;
        const bool nested_in_itself =
            std::any_of(stack.begin(), stack.end(),
                        [&](const Open& o) { return t.name == o.push->name(); });
        if (!nested_in_itself) t.total_ms += us / 1e3;
        if (!stack.empty()) stack.back().child_us += us;
      }
    }
  }
  std::vector<OpTime> ops;
  for (auto& [name, t] : by_name) ops.push_back(std::move(t));
  std::sort(ops.begin(), ops.end(),
            [](const OpTime& a, const OpTime& b) { return a.self_ms > b.self_ms; });
  return ops;
}

std::string format_op_table(const std::vector<OpTime>& ops, double of_ms, size_t rows) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "%-44s %8s %10s %7s %10s\n", "operator", "calls", "self ms",
                "self %", "total ms");
  out += line;
  double in_ops = 0;
  for (const auto& op : ops) in_ops += op.self_ms;
  for (size_t i = 0; i < std::min(rows, ops.size()); ++i) {
    const auto& op = ops[i];
    std::snprintf(line, sizeof line, "%-44.44s %8lld %10.1f %6.1f%% %10.1f\n", op.name.c_str(),
                  static_cast<long long>(op.calls), op.self_ms,
                  of_ms > 0 ? 100.0 * op.self_ms / of_ms : 0.0, op.total_ms);
    out += line;
  }
  std::snprintf(line, sizeof line, "%-44s %8s %10.1f %6.1f%%\n", "all operators", "", in_ops,
                of_ms > 0 ? 100.0 * in_ops / of_ms : 0.0);
  out += line;
  return out;
}

}  // namespace vgrow
