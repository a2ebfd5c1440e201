#include "vgrow/metrics/toy2d_metrics.h"

#include <torch/torch.h>

namespace vgrow::metrics {

ModeCoverage mode_coverage(const torch::Tensor& samples, const torch::Tensor& centres,
                           double radius, double min_fraction) {
  TORCH_CHECK(samples.dim() == 2 && centres.dim() == 2 && samples.size(1) == centres.size(1),
              "mode_coverage needs [N, d] samples and [K, d] centres, got ", samples.sizes(),
              " and ", centres.sizes());
  const auto dist = torch::cdist(samples.to(torch::kFloat64), centres.to(torch::kFloat64));
  const auto [nearest, which] = dist.min(1);
  const auto inside = nearest <= radius;
  const double n = static_cast<double>(samples.size(0));
  ModeCoverage out;
  for (int64_t k = 0; k < centres.size(0); ++k) {
    const double frac = (inside & (which == k)).sum().item<double>() / n;
    out.fractions.push_back(frac);
    out.covered += frac >= min_fraction ? 1 : 0;
  }
  out.off_mode = 1.0 - inside.sum().item<double>() / n;
  return out;
}

double energy_distance(const torch::Tensor& x, const torch::Tensor& y) {
  const auto a = x.to(torch::kFloat64).reshape({x.size(0), -1});
  const auto b = y.to(torch::kFloat64).reshape({y.size(0), -1});
  return (2 * torch::cdist(a, b).mean() - torch::cdist(a, a).mean() - torch::cdist(b, b).mean())
      .item<double>();
}

}  // namespace vgrow::metrics
