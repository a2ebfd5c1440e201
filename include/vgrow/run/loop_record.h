#pragma once
// One outer loop's numbers as the run records them: a row of stats.csv / stats.jsonl and what
// a RunReporter is shown.

#include <string>
#include <utility>
#include <vector>

#include "vgrow/core/trainer.h"

namespace vgrow {

// The trainer's LoopStats plus the rate the run derives from them.
struct LoopRecord : LoopStats {
  double samples_per_second = 0;  // pool size / seconds
};

LoopRecord make_loop_record(const LoopStats& stats, int64_t pool_size);

// The stats.csv / stats.jsonl row: every number of `record`, in column order.
std::vector<std::pair<std::string, double>> stats_row(const LoopRecord& record);

}  // namespace vgrow
