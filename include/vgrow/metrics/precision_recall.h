#pragma once
// Improved precision and recall (Kynkaanniemi et al. 2019). Each set's manifold is the
// union of balls around its points with radius = distance to the k-th nearest neighbour.
// Precision: share of generated points inside the real manifold (fidelity). Recall: share
// of real points inside the generated manifold (coverage).

#include <torch/types.h>

#include <cstdint>

namespace vgrow::metrics {

struct PrecisionRecallOptions {
  int64_t k = 3;
  // Distances are computed in chunk_size x chunk_size blocks (torch::cdist), so memory
  // stays bounded whatever the sample counts.
  int64_t chunk_size = 2048;
};

struct PrecisionRecallResult {
  double precision = 0.0;
  double recall = 0.0;
};

// Distance from each row of features [N, D] to its k-th nearest other row; needs N > k.
torch::Tensor knn_radii(const torch::Tensor& features, int64_t k, int64_t chunk_size = 2048);

// Whether each query row lies within radii[j] of some support row j. Returns bool [Q].
torch::Tensor within_manifold(const torch::Tensor& query, const torch::Tensor& support,
                              const torch::Tensor& radii, int64_t chunk_size = 2048);

// Features are compared in float32 (float64 inputs stay float64).
PrecisionRecallResult precision_recall(const torch::Tensor& real, const torch::Tensor& generated,
                                       const PrecisionRecallOptions& options = {});

}  // namespace vgrow::metrics
