#pragma once
// 2-D targets used by the authors and the GAN literature, sampled on demand.

#include <string>
#include <vector>

#include "vgrow/data/source.h"

namespace vgrow::data {

struct Toy2DInfo {
  std::string name;
  std::string description;
};
std::vector<Toy2DInfo> toy2d_targets();

// Mode centres and their common standard deviation, for targets made of Gaussian modes
// ("8gaussians", "8gaussians-small", "25gaussians"); empty for the others.
struct GaussianModes {
  torch::Tensor centres;  // [k, 2]
  double sigma = 0.0;
};
GaussianModes toy2d_modes(const std::string& name);

// Draws n points of the named target (float32 [n, 2]) with the global torch generator.
torch::Tensor sample_toy2d(const std::string& name, int64_t n);

class Toy2DSource : public RealSource {
 public:
  explicit Toy2DSource(std::string name);
  torch::Tensor next_batch(int64_t n) override { return sample_toy2d(name_, n); }
  std::vector<int64_t> sample_shape() const override { return {2}; }
  std::string describe() const override { return "toy2d:" + name_; }
  torch::Tensor preview(int64_t n) const override;

 private:
  std::string name_;
};

}  // namespace vgrow::data
