#pragma once
// What FID, KID, precision/recall and IS need from a network, so the CLI can treat the
// dataset classifier and a user-supplied Inception-v3 alike.

#include <torch/types.h>

#include <cstdint>
#include <string>

namespace vgrow::metrics {

class FeatureExtractor {
 public:
  virtual ~FeatureExtractor() = default;

  // images: [N, C, H, W] in [-1, 1]; returns float32 [N, feature_dim()] on the CPU.
  virtual torch::Tensor features(const torch::Tensor& images) = 0;
  // Class probabilities [N, K] for the Inception Score.
  virtual torch::Tensor probabilities(const torch::Tensor& images) = 0;
  virtual int64_t feature_dim() const = 0;
  // Names the network and its weights (with a checksum where there is a file), for the
  // metrics record: scores from different extractors are not comparable.
  virtual std::string id() const = 0;
};

}  // namespace vgrow::metrics
