#include "vgrow/metrics/kid.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "vgrow/metrics/gaussian_stats.h"

namespace vgrow::metrics {

namespace {

torch::Tensor cubic_kernel(const torch::Tensor& x, const torch::Tensor& y) {
  return (x.mm(y.t()) / static_cast<double>(x.size(1)) + 1.0).pow(3);
}

// Mean of the off-diagonal entries: the unbiased estimate leaves out k(x_i, x_i).
double off_diagonal_mean(const torch::Tensor& gram) {
  const auto m = static_cast<double>(gram.size(0));
  return (gram.sum() - gram.diagonal().sum()).item<double>() / (m * (m - 1.0));
}

}  // namespace

double polynomial_mmd2(const torch::Tensor& x, const torch::Tensor& y) {
  TORCH_CHECK(x.dim() == 2 && y.dim() == 2, "KID needs features [N, D], got shapes ", x.sizes(),
              " and ", y.sizes());
  TORCH_CHECK(x.size(1) == y.size(1), "KID features differ in dimension: ", x.size(1), " vs ",
              y.size(1));
  TORCH_CHECK(x.size(0) >= 2 && y.size(0) >= 2,
              "unbiased MMD needs at least 2 samples per set, got ", x.size(0), " and ", y.size(0));
  const auto a = x.to(torch::kCPU, torch::kFloat64), b = y.to(torch::kCPU, torch::kFloat64);
  return off_diagonal_mean(cubic_kernel(a, a)) + off_diagonal_mean(cubic_kernel(b, b)) -
         2.0 * cubic_kernel(a, b).mean().item<double>();
}

KidResult kid(const torch::Tensor& a, const torch::Tensor& b, const KidOptions& options) {
  TORCH_CHECK(a.dim() == 2 && b.dim() == 2, "KID needs features [N, D], got shapes ", a.sizes(),
              " and ", b.sizes());
  TORCH_CHECK(options.subsets >= 1, "KID needs at least 1 subset, got ", options.subsets);
  TORCH_CHECK(options.subset_size >= 2 && options.subset_size <= a.size(0) &&
                  options.subset_size <= b.size(0),
              "KID subset size ", options.subset_size,
              " must be at least 2 and at most both sample counts (", a.size(0), " and ", b.size(0),
              ")");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  auto subset = [&](const torch::Tensor& features) {
    const auto rows = torch::randperm(features.size(0), generator).slice(0, 0, options.subset_size);
    return features.index_select(0, rows);
  };
  KidResult result;
  for (int64_t s = 0; s < options.subsets; ++s) {
    const auto x = subset(a);
    result.values.push_back(polynomial_mmd2(x, subset(b)));
  }
  const auto summary = mean_sd(result.values);
  result.mean = summary.mean;
  result.sd = summary.sd;
  return result;
}

}  // namespace vgrow::metrics
