#pragma once
// Frechet Inception Distance between two Gaussians fitted to features:
//   FID = |mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1^{1/2} S2 S1^{1/2})^{1/2}),
// in float64 with symmetric eigen-decompositions (paper section 3).

#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

#include "vgrow/metrics/gaussian_stats.h"

namespace vgrow::metrics {

struct FidResult {
  double value = 0.0;
  std::string warning;  // non-empty when a covariance is singular (N <= D)
};

// Square root of a symmetric positive semi-definite matrix; eigenvalues below zero (round
// off) are clamped to 0. Input and output float64 [D, D].
torch::Tensor sqrtm_psd(const torch::Tensor& matrix);

FidResult fid(const GaussianStats& a, const GaussianStats& b);
FidResult fid(const torch::Tensor& features_a, const torch::Tensor& features_b);

// The paper's protocol: K draws of n generated vs n real feature vectors, each draw
// subsampled without replacement; reports mean and sd of the K FIDs (10k vs 10k, K = 5).
struct FidDrawsOptions {
  int64_t n = 10000;
  int64_t draws = 5;
  uint64_t seed = 0;
};

struct FidDrawsResult {
  double mean = 0.0;
  double sd = 0.0;
  std::vector<double> values;
  std::string warning;
};

FidDrawsResult fid_over_draws(const torch::Tensor& generated, const torch::Tensor& real,
                              const FidDrawsOptions& options = {});

// The common protocol elsewhere: all generated features (e.g. 50k) vs statistics of the
// full training set, typically loaded from a cache with GaussianStats::load.
FidResult fid_vs_reference(const torch::Tensor& generated, const GaussianStats& reference);

}  // namespace vgrow::metrics
