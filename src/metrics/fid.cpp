#include "vgrow/metrics/fid.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <mutex>
#include <set>
#include <sstream>

namespace vgrow::metrics {

namespace {

// The protocol computes many FIDs with the same sample sizes (draws, every in-training
// evaluation); say each thing once. TORCH_WARN_ONCE would keep only the first sample size.
void warn_once(const std::string& warning) {
  static std::mutex mutex;
  static std::set<std::string> said;
  std::lock_guard<std::mutex> lock(mutex);
  if (said.insert(warning).second) TORCH_WARN(warning);
}

std::string singular_warning(const GaussianStats& a, const GaussianStats& b) {
  const int64_t n = std::min(a.count, b.count);
  if (n <= 0 || n > a.dim()) return {};  // count 0: statistics built by hand, N unknown
  std::ostringstream out;
  out << "FID from " << n << " samples of " << a.dim()
      << "-d features: the covariance is singular (rank < dimension), so the value is finite "
         "but biased upwards and not comparable with FIDs from more samples than dimensions";
  return out.str();
}

torch::Tensor check_features(const torch::Tensor& features, const char* name) {
  TORCH_CHECK(features.dim() == 2, "FID needs ", name, " features [N, D], got shape ",
              features.sizes());
  return features;
}

}  // namespace

torch::Tensor sqrtm_psd(const torch::Tensor& matrix) {
  TORCH_CHECK(matrix.dim() == 2 && matrix.size(0) == matrix.size(1),
              "matrix square root needs a square matrix, got shape ", matrix.sizes());
  auto [eigenvalues, eigenvectors] = torch::linalg_eigh(matrix.to(torch::kFloat64));
  return (eigenvectors * eigenvalues.clamp_min(0.0).sqrt().unsqueeze(0)).mm(eigenvectors.t());
}

FidResult fid(const GaussianStats& a, const GaussianStats& b) {
  TORCH_CHECK(a.mean.defined() && b.mean.defined(), "FID of empty Gaussian statistics");
  TORCH_CHECK(a.dim() == b.dim(), "FID of statistics with different feature dimensions: ", a.dim(),
              " vs ", b.dim());
  for (const auto* stats : {&a, &b})
    TORCH_CHECK(stats->mean.dim() == 1 && stats->cov.dim() == 2 &&
                    stats->cov.size(0) == stats->dim() && stats->cov.size(1) == stats->dim(),
                "FID needs a mean [D] and a covariance [D, D], got ", stats->mean.sizes(), " and ",
                stats->cov.sizes());
  const auto mean_a = a.mean.to(torch::kFloat64), mean_b = b.mean.to(torch::kFloat64);
  const auto cov_a = a.cov.to(torch::kFloat64), cov_b = b.cov.to(torch::kFloat64);
  const double mean_term = (mean_a - mean_b).pow(2).sum().item<double>();
  // tr((S1^{1/2} S2 S1^{1/2})^{1/2}) is the sum of square roots of the eigenvalues of a
  // symmetric PSD matrix, so one eigh with vectors and one without suffice.
  const auto root_a = sqrtm_psd(cov_a);
  auto middle = root_a.mm(cov_b).mm(root_a);
  middle = (middle + middle.t()) * 0.5;
  const double cross = torch::linalg_eigvalsh(middle).clamp_min(0.0).sqrt().sum().item<double>();
  const double value =
      mean_term + cov_a.trace().item<double>() + cov_b.trace().item<double>() - 2.0 * cross;
  FidResult result;
  // FID is a squared distance; a negative value is round-off of two equal Gaussians.
  result.value = std::max(value, 0.0);
  result.warning = singular_warning(a, b);
  if (!result.warning.empty()) warn_once(result.warning);
  return result;
}

FidResult fid(const torch::Tensor& features_a, const torch::Tensor& features_b) {
  return fid(gaussian_stats(check_features(features_a, "first")),
             gaussian_stats(check_features(features_b, "second")));
}

FidDrawsResult fid_over_draws(const torch::Tensor& generated, const torch::Tensor& real,
                              const FidDrawsOptions& options) {
  check_features(generated, "generated");
  check_features(real, "real");
  TORCH_CHECK(generated.size(1) == real.size(1),
              "generated and real features differ in "
              "dimension: ",
              generated.size(1), " vs ", real.size(1));
  TORCH_CHECK(options.draws >= 1, "FID draws must be >= 1, got ", options.draws);
  TORCH_CHECK(options.n >= 2 && options.n <= generated.size(0) && options.n <= real.size(0),
              "FID sample size n = ", options.n, " must be between 2 and both sample counts (",
              generated.size(0), " generated, ", real.size(0), " real)");
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  // A set drawn whole gives the same statistics every draw: compute those once.
  auto stats_of = [&](const torch::Tensor& features, GaussianStats& cached) {
    if (features.size(0) == options.n) {
      if (!cached.mean.defined()) cached = gaussian_stats(features);
      return cached;
    }
    const auto rows = torch::randperm(features.size(0), generator).slice(0, 0, options.n);
    return gaussian_stats(features.index_select(0, rows));
  };
  GaussianStats whole_generated, whole_real;
  FidDrawsResult result;
  for (int64_t draw = 0; draw < options.draws; ++draw) {
    const auto draw_generated = stats_of(generated, whole_generated);
    const auto draw_real = stats_of(real, whole_real);
    const auto one = fid(draw_generated, draw_real);
    result.values.push_back(one.value);
    if (result.warning.empty()) result.warning = one.warning;
  }
  const auto summary = mean_sd(result.values);
  result.mean = summary.mean;
  result.sd = summary.sd;
  return result;
}

FidResult fid_vs_reference(const torch::Tensor& generated, const GaussianStats& reference) {
  return fid(gaussian_stats(check_features(generated, "generated")), reference);
}

}  // namespace vgrow::metrics
