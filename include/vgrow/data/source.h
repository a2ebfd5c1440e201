#pragma once
// Where real samples come from: a 2-D target, a point cloud, or an image dataset.

#include <memory>
#include <string>
#include <vector>

#include <torch/serialize/archive.h>
#include <c10/util/Exception.h>
#include <torch/types.h>

namespace vgrow::data {

class RealSource {
 public:
  virtual ~RealSource() = default;
  // n real samples, float32 on the CPU, shape [n, sample_shape()...].
  virtual torch::Tensor next_batch(int64_t n) = 0;
  virtual std::vector<int64_t> sample_shape() const = 0;
  virtual std::string describe() const = 0;
  // n fixed samples for display ("reals.png"), drawn without touching the sampler state.
  virtual torch::Tensor preview(int64_t n) const;
  // Sampler position, so a resumed run draws the same batches as an uninterrupted one.
  virtual void save_state(torch::serialize::OutputArchive&) const {}
  virtual void load_state(torch::serialize::InputArchive&) {}
};

inline torch::Tensor RealSource::preview(int64_t) const {
  TORCH_CHECK(false, describe(), " offers no preview samples");
}

}  // namespace vgrow::data
