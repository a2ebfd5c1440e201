#pragma once
// Scores for 2-D targets: mode coverage and the energy distance between two samples.

#include <vector>

#include <torch/types.h>

namespace vgrow::metrics {

struct ModeCoverage {
  std::vector<double> fractions;  // share of all samples within `radius` of each mode
  double off_mode = 0.0;          // share of samples near no mode
  int64_t covered = 0;            // modes holding at least min_fraction
};

// Each sample belongs to its nearest centre if within `radius` (e.g. 3 sigma).
ModeCoverage mode_coverage(const torch::Tensor& samples, const torch::Tensor& centres,
                           double radius, double min_fraction);

// Energy distance 2E|X-Y| - E|X-X'| - E|Y-Y'| (Szekely), V-statistic, in float64.
double energy_distance(const torch::Tensor& x, const torch::Tensor& y);

}  // namespace vgrow::metrics
