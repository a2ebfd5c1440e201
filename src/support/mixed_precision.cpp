#include "vgrow/support/mixed_precision.h"

#include <ATen/autocast_mode.h>
#include <torch/torch.h>
#include <torch/version.h>

// PyTorch 2.4 replaced the per-device autocast functions by ones taking the device type.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
#define VGROW_AUTOCAST_BY_DEVICE_TYPE 1
#endif

namespace vgrow {
namespace {

void check_device(torch::DeviceType device) {
  TORCH_CHECK(device == torch::kCPU || device == torch::kCUDA,
              "mixed precision runs on CPU or CUDA, not on ", device);
}

bool autocast_enabled(torch::DeviceType device) {
#ifdef VGROW_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::is_autocast_enabled(device);
#else
  return device == torch::kCUDA ? at::autocast::is_enabled() : at::autocast::is_cpu_enabled();
#endif
}

void set_autocast_enabled(torch::DeviceType device, bool enabled) {
#ifdef VGROW_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_enabled(device, enabled);
#else
  if (device == torch::kCUDA) {
    at::autocast::set_enabled(enabled);
  } else {
    at::autocast::set_cpu_enabled(enabled);
  }
#endif
}

torch::Dtype autocast_dtype(torch::DeviceType device) {
#ifdef VGROW_AUTOCAST_BY_DEVICE_TYPE
  return at::autocast::get_autocast_dtype(device);
#else
  return device == torch::kCUDA ? at::autocast::get_autocast_gpu_dtype()
                                : at::autocast::get_autocast_cpu_dtype();
#endif
}

void set_autocast_dtype(torch::DeviceType device, torch::Dtype dtype) {
#ifdef VGROW_AUTOCAST_BY_DEVICE_TYPE
  at::autocast::set_autocast_dtype(device, dtype);
#else
  if (device == torch::kCUDA) {
    at::autocast::set_autocast_gpu_dtype(dtype);
  } else {
    at::autocast::set_autocast_cpu_dtype(dtype);
  }
#endif
}

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::fp32;
  if (name == "bf16") return Precision::bf16;
  if (name == "fp16") return Precision::fp16;
  TORCH_CHECK(false, "unknown precision '", name, "' (fp32, bf16 or fp16)");
}

const char* precision_name(Precision precision) {
  switch (precision) {
    case Precision::bf16:
      return "bf16";
    case Precision::fp16:
      return "fp16";
    default:
      return "fp32";
  }
}

AutocastGuard::AutocastGuard(const Autocast& autocast) {
  if (!autocast.enabled()) return;
  check_device(autocast.device);
  active_ = true;
  device_ = autocast.device;
  was_enabled_ = autocast_enabled(device_);
  previous_dtype_ = autocast_dtype(device_);
  set_autocast_dtype(device_, autocast.precision == Precision::bf16 ? torch::kBFloat16
                                                                     : torch::kHalf);
  set_autocast_enabled(device_, true);
  at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
  if (!active_) return;
  if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
  set_autocast_enabled(device_, was_enabled_);
  set_autocast_dtype(device_, previous_dtype_);
}

torch::Tensor forward_fp32(torch::nn::AnyModule& module, const torch::Tensor& input,
                           const Autocast& autocast) {
  torch::Tensor out;
  {
    AutocastGuard guard(autocast);
    out = module.forward(input);
  }
  return autocast.enabled() ? out.to(torch::kFloat) : out;
}

AutocastDisabled::AutocastDisabled()
    : cpu_was_enabled_(autocast_enabled(torch::kCPU)),
      cuda_was_enabled_(autocast_enabled(torch::kCUDA)) {
  if (cpu_was_enabled_) set_autocast_enabled(torch::kCPU, false);
  if (cuda_was_enabled_) set_autocast_enabled(torch::kCUDA, false);
}

AutocastDisabled::~AutocastDisabled() {
  if (cpu_was_enabled_) set_autocast_enabled(torch::kCPU, true);
  if (cuda_was_enabled_) set_autocast_enabled(torch::kCUDA, true);
}

LossScaler::LossScaler(LossScalerOptions options)
    : options_(options), scale_(options.init_scale()) {
  TORCH_CHECK(options_.init_scale() > 0, "loss scale must be positive, got ",
              options_.init_scale());
  TORCH_CHECK(options_.growth_factor() > 1, "loss scale growth factor must exceed 1, got ",
              options_.growth_factor());
  TORCH_CHECK(options_.backoff_factor() > 0 && options_.backoff_factor() < 1,
              "loss scale backoff factor must lie in (0, 1), got ", options_.backoff_factor());
  TORCH_CHECK(options_.growth_interval() >= 1, "loss scale growth interval must be >= 1, got ",
              options_.growth_interval());
}

bool LossScaler::step(torch::optim::Optimizer& optimizer) {
  std::vector<torch::Tensor> grads;
  for (auto& group : optimizer.param_groups()) {
    for (auto& p : group.params()) {
      if (p.grad().defined()) grads.push_back(p.mutable_grad());
    }
  }
  bool finite = true;
  if (!grads.empty()) {
    torch::NoGradGuard no_grad;
    std::vector<torch::Tensor> flags;
    flags.reserve(grads.size());
    for (auto& g : grads) {
      g.mul_(1.0 / scale_);
      flags.push_back(torch::isfinite(g).all());
    }
    finite = torch::stack(flags).all().item<bool>();
  }
  if (finite) {
    optimizer.step();
    if (++good_steps_ >= options_.growth_interval()) {
      scale_ *= options_.growth_factor();
      good_steps_ = 0;
    }
  } else {
    scale_ *= options_.backoff_factor();
    good_steps_ = 0;
    ++skipped_;
  }
  return finite;
}

void LossScaler::save(torch::serialize::OutputArchive& archive) const {
  archive.write("loss_scaler",
                torch::tensor({scale_, static_cast<double>(good_steps_),
                               static_cast<double>(skipped_)},
                              torch::kFloat64));
}

void LossScaler::load(torch::serialize::InputArchive& archive) {
  torch::Tensor state;
  archive.read("loss_scaler", state);
  TORCH_CHECK(state.numel() == 3, "loss scaler state has ", state.numel(),
              " values, expected 3");
  const auto* v = state.to(torch::kFloat64).contiguous().data_ptr<double>();
  TORCH_CHECK(std::isfinite(v[0]) && v[0] > 0, "loss scaler state has scale ", v[0]);
  scale_ = v[0];
  good_steps_ = static_cast<int64_t>(v[1]);
  skipped_ = static_cast<int64_t>(v[2]);
}

bool MixedPrecision::step(torch::optim::Optimizer& optimizer) const {
  if (scaler) return scaler->step(optimizer);
  optimizer.step();
  return true;
}

}  // namespace vgrow
