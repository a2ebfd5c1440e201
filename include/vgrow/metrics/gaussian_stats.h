#pragma once
// First and second moments of feature vectors: the Gaussian that FID compares. Everything
// is float64 because FID subtracts traces of 2048x2048 matrices that nearly cancel.

#include <torch/types.h>

#include <string>
#include <vector>

namespace vgrow::metrics {

// Mean [D] and unbiased (N-1) covariance [D, D] of N feature vectors, both float64.
struct GaussianStats {
  torch::Tensor mean;
  torch::Tensor cov;
  int64_t count = 0;  // N (0 = unknown); a covariance from N <= D samples is singular

  int64_t dim() const { return mean.defined() ? mean.size(0) : 0; }

  // One file per statistics set (e.g. cached reference statistics of a training set).
  void save(const std::string& path) const;
  static GaussianStats load(const std::string& path);
};

// Streams batches of features so a whole feature matrix never has to be in memory.
// Batches are merged with Chan et al.'s pairwise update, which stays accurate where the
// textbook sum-of-squares formula cancels catastrophically.
class GaussianStatsAccumulator {
 public:
  void add(const torch::Tensor& features);  // [B, D], any floating dtype
  int64_t count() const { return count_; }
  GaussianStats finish() const;  // needs count() >= 2

 private:
  int64_t count_ = 0;
  torch::Tensor mean_;     // [D] float64
  torch::Tensor scatter_;  // [D, D] float64, sum of centred outer products
};

// Statistics of features [N, D], N >= 2, processed `chunk_rows` rows at a time.
GaussianStats gaussian_stats(const torch::Tensor& features, int64_t chunk_rows = 4096);

// Mean and standard deviation of repeated scores (FID draws, KID subsets, IS splits).
// The sd is the population one (divide by K), numpy's np.std default, which the reference
// implementations of IS, KID and the FID draws report.
struct MeanSd {
  double mean = 0.0;
  double sd = 0.0;
};
MeanSd mean_sd(const std::vector<double>& values);

}  // namespace vgrow::metrics
