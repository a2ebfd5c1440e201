#pragma once
// Inception Score (Salimans et al. 2016): exp(E_x KL(p(y|x) || p(y))) per split. With the
// authors' dataset classifier (10 classes) it lies in [1, 10] and is not comparable with
// Inception-v3 IS (paper section 3).

#include <torch/types.h>

#include <cstdint>
#include <vector>

namespace vgrow::metrics {

struct InceptionScoreResult {
  double mean = 0.0;
  double sd = 0.0;
  std::vector<double> values;  // one score per split
};

// probabilities: [N, K], rows non-negative and summing to 1. Split i holds rows
// [i N / splits, (i + 1) N / splits), as in the reference implementations.
InceptionScoreResult inception_score(const torch::Tensor& probabilities, int64_t splits = 10);

}  // namespace vgrow::metrics
