#pragma once
// Lower-precision forward passes (autocast) and the loss scaling fp16 needs.
//
// bf16 keeps fp32's exponent range, so its gradients neither underflow nor overflow and it
// needs no loss scale; fp16 does (GradScaler's dynamic scheme). The particle pool, the
// losses, spectral norm's power iteration and every optimiser state stay in fp32: only the
// convolutions and linear layers of G and D run in the lower precision. The flow step's
// gradient with respect to the particles is not loss-scaled: spectral norm keeps |grad_x D|
// of order 1, far above fp16's underflow.

#include <cstdint>
#include <string>
#include <vector>

#include <torch/arg.h>
#include <torch/nn/modules/container/any.h>
#include <torch/optim/optimizer.h>
#include <torch/serialize/archive.h>
#include <torch/types.h>

namespace vgrow {

enum class Precision { fp32, bf16, fp16 };

// "fp32", "bf16" or "fp16"; anything else is refused, naming the choices.
Precision parse_precision(const std::string& name);
const char* precision_name(Precision precision);
inline std::vector<std::string> precision_names() {
  return {precision_name(Precision::fp32), precision_name(Precision::bf16),
          precision_name(Precision::fp16)};
}

// Under which autocast a forward pass runs; fp32 means none.
struct Autocast {
  Precision precision = Precision::fp32;
  torch::DeviceType device = torch::kCPU;
  bool enabled() const { return precision != Precision::fp32; }
};

// Autocast on for the device while in scope, restored after. The outermost scope clears
// autocast's cache of cast weights on exit: the optimiser changes them in place between
// forwards, so scopes should span forwards only, not optimiser steps.
class AutocastGuard {
 public:
  explicit AutocastGuard(const Autocast& autocast);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  torch::DeviceType device_ = torch::kCPU;
  bool was_enabled_ = false;
  torch::Dtype previous_dtype_ = torch::kFloat;
};

// module.forward(input) under `autocast`, its output back in fp32: D(x), the losses and the
// particles stay fp32 whatever precision the forward ran in.
torch::Tensor forward_fp32(torch::nn::AnyModule& module, const torch::Tensor& input,
                           const Autocast& autocast);

// Autocast off (CPU and CUDA) while in scope: for arithmetic that must stay fp32 inside an
// autocast region, such as spectral norm's sigma.
class AutocastDisabled {
 public:
  AutocastDisabled();
  ~AutocastDisabled();
  AutocastDisabled(const AutocastDisabled&) = delete;
  AutocastDisabled& operator=(const AutocastDisabled&) = delete;

 private:
  bool cpu_was_enabled_ = false;
  bool cuda_was_enabled_ = false;
};

struct LossScalerOptions {
  TORCH_ARG(double, init_scale) = 65536.0;
  TORCH_ARG(double, growth_factor) = 2.0;
  TORCH_ARG(double, backoff_factor) = 0.5;
  TORCH_ARG(int64_t, growth_interval) = 2000;
};

// Dynamic loss scaling as PyTorch's GradScaler: the loss is multiplied by `scale` before
// backward so small fp16 gradients do not flush to zero; before the step the gradients are
// divided by it again. A step whose gradients hold NaN/Inf is skipped and the scale halved;
// after `growth_interval` good steps in a row it doubles.
class LossScaler {
 public:
  explicit LossScaler(LossScalerOptions options = {});

  torch::Tensor scale(const torch::Tensor& loss) const { return loss * scale_; }
  // Unscales the gradients of the optimiser's parameters, then steps unless one is
  // NaN/Inf, and updates the scale. Returns whether it stepped. One host sync (the
  // skip decision), as in GradScaler.
  bool step(torch::optim::Optimizer& optimizer);

  double scale_value() const { return scale_; }
  int64_t skipped_steps() const { return skipped_; }
  const LossScalerOptions& options() const { return options_; }

  void save(torch::serialize::OutputArchive& archive) const;
  void load(torch::serialize::InputArchive& archive);

 private:
  LossScalerOptions options_;
  double scale_;
  int64_t good_steps_ = 0;  // since the last change of scale
  int64_t skipped_ = 0;
};

// What a training step needs to know about precision: the forward's autocast and, where
// gradients may underflow, a loss scaler (null: none).
struct MixedPrecision {
  Autocast autocast;
  LossScaler* scaler = nullptr;

  torch::Tensor scale(const torch::Tensor& loss) const {
    return scaler ? scaler->scale(loss) : loss;
  }
  // Steps the optimiser, through the scaler when there is one. Returns whether it stepped.
  bool step(torch::optim::Optimizer& optimizer) const;
};

}  // namespace vgrow
