#pragma once
// Kernel Inception Distance (Binkowski et al. 2018): unbiased MMD^2 with the cubic
// polynomial kernel k(x, y) = (x.y / d + 1)^3, averaged over random subsets.

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace vgrow::metrics {

// Unbiased MMD^2 estimate between x [m, d] and y [n, d] (m, n >= 2), in float64.
double polynomial_mmd2(const torch::Tensor& x, const torch::Tensor& y);

struct KidOptions {
  int64_t subsets = 100;       // torch-fidelity's defaults
  int64_t subset_size = 1000;  // 2 <= subset_size <= both sample counts
  uint64_t seed = 0;
};

struct KidResult {
  double mean = 0.0;
  double sd = 0.0;
  std::vector<double> values;  // one MMD^2 per subset
};

// Each subset draws subset_size rows of a and of b without replacement.
KidResult kid(const torch::Tensor& a, const torch::Tensor& b, const KidOptions& options = {});

}  // namespace vgrow::metrics
