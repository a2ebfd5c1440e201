// Cached reference statistics (the stats-<key>.pt files of the statistics cache): a file that
// cannot be read is recomputed and replaced, never trusted; one that loads is scored against.

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "temp_input.h"
#include "vgrow/metrics/fid.h"
#include "vgrow/metrics/reference_stats.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const std::string key = "fuzz";
  static vgrow::fuzz::TempInput input(
      vgrow::metrics::reference_stats_path("", key).filename().string());
  input.write(data, size);
  const auto recompute = [] {
    const auto options = torch::TensorOptions(torch::kFloat64);
    return vgrow::metrics::GaussianStats{torch::zeros({2}, options), torch::eye(2, options), 3};
  };
  try {
    const auto stats = vgrow::metrics::cached_reference_stats(input.dir(), key, recompute);
    vgrow::metrics::fid(stats, stats);
  } catch (const c10::Error&) {
  }
  return 0;
}
