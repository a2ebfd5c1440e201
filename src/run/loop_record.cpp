#include "vgrow/run/loop_record.h"

#include <algorithm>

namespace vgrow {

LoopRecord make_loop_record(const LoopStats& stats, int64_t pool_size) {
  LoopRecord record;
  static_cast<LoopStats&>(record) = stats;
  record.samples_per_second = static_cast<double>(pool_size) / std::max(stats.seconds, 1e-9);
  return record;
}

std::vector<std::pair<std::string, double>> stats_row(const LoopRecord& r) {
  return {{"loop", static_cast<double>(r.loop)},
          {"d_loss_real", r.d_loss_real},
          {"d_loss_particles", r.d_loss_particles},
          {"grad_norm", r.grad_norm},
          {"mean_d", r.mean_d},
          {"projection_loss", r.projection_loss},
          {"projection_passes", static_cast<double>(r.projection_passes)},
          {"lr_g", r.lr_g},
          {"lr_d", r.lr_d},
          {"seconds", r.seconds},
          {"seconds_d", r.seconds_d},
          {"seconds_flow", r.seconds_flow},
          {"seconds_projection", r.seconds_projection},
          {"samples_per_second", r.samples_per_second}};
}

}  // namespace vgrow
