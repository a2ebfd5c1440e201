#include "vgrow/core/generator_average.h"

#include <algorithm>

#include <torch/torch.h>

namespace vgrow {

GeneratorAverage::GeneratorAverage(const torch::nn::AnyModule& generator, double decay)
    : average_(generator.clone()), decay_(decay) {
  TORCH_CHECK(decay >= 0.0 && decay < 1.0, "generator EMA decay must be in [0, 1), got ", decay);
  for (auto& p : average_.ptr()->parameters()) p.set_requires_grad(false);
  average_.ptr()->eval();
}

double GeneratorAverage::next_decay() const {
  const double t = static_cast<double>(updates_);
  return std::min(decay_, (1.0 + t) / (10.0 + t));
}

void GeneratorAverage::update(torch::nn::Module& generator) {
  torch::NoGradGuard no_grad;
  const double decay = next_decay();
  ++updates_;
  const auto params = generator.parameters();
  auto averaged = average_.ptr()->parameters();
  TORCH_CHECK(params.size() == averaged.size(), "generator EMA: G has ", params.size(),
              " parameter tensors, its average ", averaged.size());
  for (size_t i = 0; i < params.size(); ++i) {
    // lerp_: avg + (1 - decay) * (G - avg) in one kernel; decay 0 is G itself, bit for bit.
    if (decay == 0.0) {
      averaged[i].copy_(params[i]);
    } else {
      averaged[i].lerp_(params[i], 1.0 - decay);
    }
  }
  const auto buffers = generator.buffers();
  auto averaged_buffers = average_.ptr()->buffers();
  for (size_t i = 0; i < buffers.size() && i < averaged_buffers.size(); ++i) {
    averaged_buffers[i].copy_(buffers[i]);
  }
}

void GeneratorAverage::save(torch::serialize::OutputArchive& archive) const {
  average_.ptr()->save(archive);
  archive.write("ema_updates", torch::tensor(updates_, torch::kLong));
}

void GeneratorAverage::load(torch::serialize::InputArchive& archive) {
  average_.ptr()->load(archive);
  torch::Tensor updates;
  archive.read("ema_updates", updates);
  updates_ = updates.item<int64_t>();
  for (auto& p : average_.ptr()->parameters()) p.set_requires_grad(false);
  average_.ptr()->eval();
}

}  // namespace vgrow
