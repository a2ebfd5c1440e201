#pragma once
// A generator EMA: an exponential moving average of G's weights, the standard way to better
// samples at no training cost (the authors' TensorFlow code keeps one). After update t
// (t = 0, 1, ...: one per outer loop), avg <- d_t * avg + (1 - d_t) * G for each parameter
// with d_t = min(decay, (1 + t) / (10 + t)), the warm-up of TensorFlow's
// ExponentialMovingAverage(num_updates): early on the average follows G instead of keeping
// the random initial weights for thousands of loops. Buffers (BatchNorm's running statistics)
// are copied. Training never reads it: it only changes what samples, evaluation and best.pt
// show.

#include <cstdint>

#include <torch/nn/modules/container/any.h>
#include <torch/serialize/archive.h>

namespace vgrow {

class GeneratorAverage {
 public:
  // Starts as a copy of `generator` (same device); decay in [0, 1). Decay 0 follows G exactly.
  GeneratorAverage(const torch::nn::AnyModule& generator, double decay);
  void update(torch::nn::Module& generator);
  // The averaged network, in eval mode.
  torch::nn::AnyModule& module() { return average_; }
  double decay() const { return decay_; }
  int64_t updates() const { return updates_; }
  // d_t of the next update.
  double next_decay() const;
  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  torch::nn::AnyModule average_;
  double decay_;
  int64_t updates_ = 0;
};

}  // namespace vgrow
