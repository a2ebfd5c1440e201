#include "vgrow/metrics/inception_score.h"

#include <torch/torch.h>

#include <cmath>

#include "vgrow/metrics/gaussian_stats.h"

namespace vgrow::metrics {

InceptionScoreResult inception_score(const torch::Tensor& probabilities, int64_t splits) {
  TORCH_CHECK(probabilities.dim() == 2,
              "Inception Score needs class probabilities [N, K], got "
              "shape ",
              probabilities.sizes());
  const int64_t n = probabilities.size(0);
  TORCH_CHECK(splits >= 1 && splits <= n,
              "Inception Score splits must be between 1 and the "
              "sample count ",
              n, ", got ", splits);
  const auto p = probabilities.to(torch::kCPU, torch::kFloat64);
  TORCH_CHECK(p.isfinite().all().item<bool>() && p.min().item<double>() >= 0.0,
              "Inception Score needs probabilities (finite, >= 0); got minimum ",
              p.min().item<double>(), " -- pass softmax outputs, not logits");
  const double worst_sum = (p.sum(1) - 1.0).abs().max().item<double>();
  TORCH_CHECK(worst_sum <= 1e-3, "Inception Score needs rows summing to 1; a row is off by ",
              worst_sum, " -- pass softmax outputs, not logits");
  InceptionScoreResult result;
  for (int64_t i = 0; i < splits; ++i) {
    const auto part = p.slice(0, i * n / splits, (i + 1) * n / splits);
    const auto marginal = part.mean(0, /*keepdim=*/true);
    // xlogy makes 0 log 0 = 0, so one-hot rows are fine.
    const auto kl = (torch::xlogy(part, part) - torch::xlogy(part, marginal)).sum(1).mean();
    result.values.push_back(std::exp(kl.item<double>()));
  }
  const auto summary = mean_sd(result.values);
  result.mean = summary.mean;
  result.sd = summary.sd;
  return result;
}

}  // namespace vgrow::metrics
