#include "vgrow/models/resnet.h"

#include <torch/torch.h>

#include "vgrow/models/channels_last.h"
#include "vgrow/models/resampling_conv.h"

namespace vgrow::models {
namespace {

int64_t log2_exact(int64_t n, const char* what) {
  int64_t k = 0;
  while ((int64_t{1} << k) < n) ++k;
  TORCH_CHECK((int64_t{1} << k) == n, what, " must be a power of two, got ", n);
  return k;
}

SNConv2d sn_conv(int64_t in, int64_t out, int64_t kernel, bool sn, int64_t iters) {
  return SNConv2d(SNConv2dOptions(in, out, kernel)
                      .padding(kernel / 2)
                      .bias(false)
                      .spectral_norm(sn)
                      .power_iterations(iters));
}

torch::Tensor upsample2(const torch::Tensor& x) {
  return torch::nn::functional::interpolate(
      x, torch::nn::functional::InterpolateFuncOptions()
             .scale_factor(std::vector<double>{2.0, 2.0})
             .mode(torch::kNearest));
}

}  // namespace

UpBlockImpl::UpBlockImpl(int64_t width, bool spectral_norm, int64_t power_iterations,
                         bool shortcut_after_relu, bool fused_resampling)
    : width_(width),
      power_iterations_(power_iterations),
      spectral_norm_(spectral_norm),
      shortcut_after_relu_(shortcut_after_relu),
      fused_(fused_resampling) {
  reset();
}

void UpBlockImpl::reset() {
  conv1_ = register_module("conv1", sn_conv(width_, width_, 3, spectral_norm_, power_iterations_));
  bn_ = register_module("bn", torch::nn::BatchNorm2d(width_));
  conv2_ = register_module("conv2", sn_conv(width_, width_, 3, spectral_norm_, power_iterations_));
  shortcut_ =
      register_module("shortcut", sn_conv(width_, width_, 1, spectral_norm_, power_iterations_));
}

torch::Tensor UpBlockImpl::forward(const torch::Tensor& x) {
  const auto h = torch::relu(x);
  const auto& skip_in = shortcut_after_relu_ ? h : x;
  auto out = conv2_(torch::relu(bn_(conv1_(upsample2(h)))));
  // A 1x1 conv commutes with nearest upsampling: 4x fewer multiply-adds before it.
  return out + (fused_ ? upsample2(shortcut_(skip_in)) : shortcut_(upsample2(skip_in)));
}

ResNetGeneratorImpl::ResNetGeneratorImpl(ResNetGeneratorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void ResNetGeneratorImpl::reset() {
  const int64_t ups = log2_exact(options.image_size() / 4, "generator image_size / 4");
  TORCH_CHECK(options.image_size() >= 8, "generator image_size must be at least 8");
  const auto w = options.width();
  linear_ = register_module(
      "linear", SNLinear(SNLinearOptions(options.latent_dim(), 16 * w)
                             .spectral_norm(options.spectral_norm())
                             .power_iterations(options.power_iterations())));
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < ups; ++i) {
    blocks_->push_back(UpBlock(w, options.spectral_norm(), options.power_iterations(),
                               options.shortcut_after_relu(), options.fused_resampling()));
  }
  to_image_ = register_module(
      "to_image", sn_conv(w, options.channels(), 3, options.spectral_norm(),
                          options.power_iterations()));
  init_paper_weights(*this);
}

torch::Tensor ResNetGeneratorImpl::forward(const torch::Tensor& z) {
  auto h = linear_(z).view({-1, options.width(), 4, 4});
  if (options.channels_last()) h = to_channels_last(h);
  for (const auto& block : *blocks_) h = block->as<UpBlock>()->forward(h);
  return torch::tanh(to_image_(torch::relu(h))).contiguous();
}

DiscBlockImpl::DiscBlockImpl(int64_t in_channels, int64_t width, bool down, bool first,
                             bool spectral_norm, int64_t power_iterations,
                             bool shortcut_after_relu, bool fused_resampling)
    : in_(in_channels),
      width_(width),
      power_iterations_(power_iterations),
      down_(down),
      first_(first),
      spectral_norm_(spectral_norm),
      shortcut_after_relu_(shortcut_after_relu),
      fused_(fused_resampling) {
  reset();
}

void DiscBlockImpl::reset() {
  conv1_ = register_module("conv1", sn_conv(in_, width_, 3, spectral_norm_, power_iterations_));
  conv2_ = register_module("conv2", sn_conv(width_, width_, 3, spectral_norm_, power_iterations_));
  if (down_) {
    shortcut_ =
        register_module("shortcut", sn_conv(in_, width_, 1, spectral_norm_, power_iterations_));
  } else {
    TORCH_CHECK(in_ == width_, "an identity shortcut needs in_channels == width");
  }
}

torch::Tensor DiscBlockImpl::forward(const torch::Tensor& x) {
  // The first block sees raw pixels: no ReLU there (the authors' `first` flag).
  const auto h = first_ ? x : torch::relu(x);
  const auto& skip_in = shortcut_after_relu_ ? h : x;
  if (down_ && fused_) {
    // Average pooling commutes with the 1x1 shortcut conv: pool first, 4x fewer.
    return conv3x3_then_avgpool(torch::relu(conv1_(h)), conv2_->forward_weight()) +
           shortcut_(torch::avg_pool2d(skip_in, 2));
  }
  auto out = conv2_(torch::relu(conv1_(h)));
  if (down_) {
    return torch::avg_pool2d(out, 2) + torch::avg_pool2d(shortcut_(skip_in), 2);
  }
  return out + skip_in;
}

ResNetDiscriminatorImpl::ResNetDiscriminatorImpl(ResNetDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void ResNetDiscriminatorImpl::reset() {
  // Down-sample to 8x8, then two residual blocks at 8x8 (32x32: 2 down + 2 plain, as the paper).
  TORCH_CHECK(options.image_size() >= 16, "discriminator image_size must be at least 16");
  const int64_t downs = log2_exact(options.image_size() / 8, "discriminator image_size / 8");
  const auto w = options.width();
  blocks_ = register_module("blocks", torch::nn::ModuleList());
  for (int64_t i = 0; i < downs + 2; ++i) {
    blocks_->push_back(DiscBlock(i == 0 ? options.channels() : w, w, /*down=*/i < downs,
                                 /*first=*/i == 0, options.spectral_norm(),
                                 options.power_iterations(), options.shortcut_after_relu(),
                                 options.fused_resampling()));
  }
  linear_ = register_module("linear", SNLinear(SNLinearOptions(w, 1)
                                                   .spectral_norm(options.spectral_norm())
                                                   .power_iterations(options.power_iterations())));
  init_paper_weights(*this);
}

torch::Tensor ResNetDiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = options.channels_last() ? to_channels_last(x) : x;
  for (const auto& block : *blocks_) h = block->as<DiscBlock>()->forward(h);
  h = torch::relu(h).sum({2, 3});
  return linear_(h).squeeze(1);
}

void init_paper_weights(torch::nn::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto& m : module.modules(/*include_self=*/false)) {
    if (auto* lin = m->as<SNLinearImpl>()) {
      lin->weight.normal_(0.0, 0.02);
      if (lin->bias.defined()) lin->bias.zero_();
    } else if (auto* conv = m->as<SNConv2dImpl>()) {
      conv->weight.normal_(0.0, 0.02);
      if (conv->bias.defined()) conv->bias.zero_();
    } else if (auto* bn = m->as<torch::nn::BatchNorm2dImpl>()) {
      bn->weight.normal_(1.0, 0.02);
      bn->bias.zero_();
    }
  }
}

}  // namespace vgrow::models
