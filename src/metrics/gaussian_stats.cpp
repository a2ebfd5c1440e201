#include "vgrow/metrics/gaussian_stats.h"

#include <torch/torch.h>

#include <cmath>

#include "vgrow/io/zip_check.h"

namespace vgrow::metrics {

namespace {
constexpr const char* kFormat = "vgrow-gaussian-stats-v1";
}

void GaussianStatsAccumulator::add(const torch::Tensor& features) {
  TORCH_CHECK(features.dim() == 2, "Gaussian statistics need features [N, D], got shape ",
              features.sizes());
  TORCH_CHECK(features.is_floating_point(), "Gaussian statistics need floating features, got ",
              features.scalar_type());
  if (features.size(0) == 0) return;
  TORCH_CHECK(count_ == 0 || features.size(1) == mean_.size(0), "feature dimension changed from ",
              mean_.size(0), " to ", features.size(1), " between batches");
  const auto batch = features.to(torch::kCPU, torch::kFloat64);
  const auto batch_mean = batch.mean(0);
  const auto centred = batch - batch_mean;
  const auto batch_scatter = centred.t().mm(centred);
  const auto nb = batch.size(0);
  if (count_ == 0) {
    mean_ = batch_mean;
    scatter_ = batch_scatter;
  } else {
    const double n = static_cast<double>(count_ + nb);
    const auto delta = batch_mean - mean_;
    mean_ = mean_ + delta * (static_cast<double>(nb) / n);
    scatter_ = scatter_ + batch_scatter +
               torch::outer(delta, delta) * (static_cast<double>(count_) * nb / n);
  }
  count_ += nb;
}

GaussianStats GaussianStatsAccumulator::finish() const {
  TORCH_CHECK(count_ >= 2, "a covariance needs at least 2 feature vectors, got ", count_);
  auto cov = scatter_ / static_cast<double>(count_ - 1);
  // Summation order makes the product slightly asymmetric; eigh wants it exactly symmetric.
  cov = (cov + cov.t()) * 0.5;
  return {mean_.clone(), cov, count_};
}

GaussianStats gaussian_stats(const torch::Tensor& features, int64_t chunk_rows) {
  TORCH_CHECK(chunk_rows >= 1, "chunk_rows must be >= 1, got ", chunk_rows);
  TORCH_CHECK(features.dim() == 2, "Gaussian statistics need features [N, D], got shape ",
              features.sizes());
  GaussianStatsAccumulator accumulator;
  for (int64_t start = 0; start < features.size(0); start += chunk_rows)
    accumulator.add(features.slice(0, start, std::min(start + chunk_rows, features.size(0))));
  return accumulator.finish();
}

void GaussianStats::save(const std::string& path) const {
  TORCH_CHECK(mean.defined() && cov.defined(), "cannot save empty Gaussian statistics to ", path);
  torch::serialize::OutputArchive archive;
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("mean", mean);
  archive.write("cov", cov);
  archive.write("count", c10::IValue(count));
  archive.save_to(path);
}

GaussianStats GaussianStats::load(const std::string& path) {
  torch::serialize::InputArchive archive;
  try {
    io::verify_zip(path, "statistics file '" + path + "'");  // code-like input: screened first
    archive.load_from(path);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "cannot read Gaussian statistics from '", path,
                "' (expected a file written by GaussianStats::save): ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "cannot read Gaussian statistics from '", path,
                "' (expected a file written by GaussianStats::save): ", e.what());
  }
  c10::IValue format, count;
  TORCH_CHECK(
      archive.try_read("format", format) && format.isString() && format.toStringRef() == kFormat,
      "'", path, "' is not a ", kFormat, " file");
  GaussianStats stats;
  archive.read("mean", stats.mean);
  archive.read("cov", stats.cov);
  archive.read("count", count);
  stats.count = count.toInt();
  TORCH_CHECK(stats.mean.dim() == 1 && stats.cov.dim() == 2 &&
                  stats.cov.size(0) == stats.mean.size(0) &&
                  stats.cov.size(1) == stats.mean.size(0),
              "inconsistent Gaussian statistics in '", path, "': mean ", stats.mean.sizes(),
              ", covariance ", stats.cov.sizes());
  stats.mean = stats.mean.to(torch::kFloat64);
  stats.cov = stats.cov.to(torch::kFloat64);
  return stats;
}

MeanSd mean_sd(const std::vector<double>& values) {
  TORCH_CHECK(!values.empty(), "mean and sd of an empty list of scores");
  double sum = 0.0;
  for (double v : values) sum += v;
  const double mean = sum / static_cast<double>(values.size());
  double squares = 0.0;
  for (double v : values) squares += (v - mean) * (v - mean);
  return {mean, std::sqrt(squares / static_cast<double>(values.size()))};
}

}  // namespace vgrow::metrics
