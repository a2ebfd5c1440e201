#include "vgrow/models/dcgan.h"

#include <torch/torch.h>

#include "vgrow/models/channels_last.h"
#include "vgrow/models/flop_count.h"
#include "vgrow/models/resampling_conv.h"

namespace vgrow::models {
namespace {

int64_t levels_for(int64_t image_size) {
  int64_t levels = 0;
  while ((int64_t{4} << levels) < image_size) ++levels;
  TORCH_CHECK((int64_t{4} << levels) == image_size && levels >= 1,
              "DCGAN image_size must be 4 * 2^k with k >= 1, got ", image_size);
  return levels;
}

}  // namespace

DCGANGeneratorImpl::DCGANGeneratorImpl(DCGANGeneratorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void DCGANGeneratorImpl::reset() {
  const int64_t levels = levels_for(options.image_size());
  base_channels_ = options.width() << (levels - 1);
  linear_ = register_module("linear", torch::nn::Linear(options.latent_dim(), 16 * base_channels_));
  bn0_ = register_module("bn0", torch::nn::BatchNorm2d(base_channels_));
  ups_ = register_module("ups", torch::nn::ModuleList());
  bns_ = register_module("bns", torch::nn::ModuleList());
  int64_t in = base_channels_;
  for (int64_t i = 0; i < levels; ++i) {
    const bool last = i + 1 == levels;
    const int64_t out = last ? options.channels() : in / 2;
    ups_->push_back(torch::nn::ConvTranspose2d(
        torch::nn::ConvTranspose2dOptions(in, out, 4).stride(2).padding(1).bias(last)));
    if (!last) bns_->push_back(torch::nn::BatchNorm2d(out));
    in = out;
  }
}

torch::Tensor DCGANGeneratorImpl::forward(const torch::Tensor& z) {
  const auto projected = linear_(z);
  count_linear(projected, linear_->options.in_features());
  auto h = projected.view({-1, base_channels_, 4, 4});
  if (options.channels_last()) h = to_channels_last(h);
  h = torch::relu(bn0_(h));
  const auto n = static_cast<int64_t>(ups_->size());
  for (int64_t i = 0; i < n; ++i) {
    auto* up = ups_[i]->as<torch::nn::ConvTranspose2dImpl>();
    if (options.fused_resampling()) {
      h = conv_transpose4x4_stride2(h, up->weight, up->bias);
    } else {
      count_conv_transpose(h, up->options.out_channels(), 4, 4);
      h = up->forward(h);
    }
    if (i + 1 < n) h = torch::relu(bns_[i]->as<torch::nn::BatchNorm2dImpl>()->forward(h));
  }
  return torch::tanh(h).contiguous();
}

DCGANDiscriminatorImpl::DCGANDiscriminatorImpl(DCGANDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void DCGANDiscriminatorImpl::reset() {
  const int64_t levels = levels_for(options.image_size());
  convs_ = register_module("convs", torch::nn::ModuleList());
  int64_t in = options.channels(), out = options.width();
  for (int64_t i = 0; i < levels; ++i) {
    convs_->push_back(SNConv2d(SNConv2dOptions(in, out, 4)
                                   .padding(1)
                                   .stride(2)
                                   .bias(true)
                                   .spectral_norm(options.spectral_norm())
                                   .power_iterations(options.power_iterations())));
    in = out;
    out *= 2;
  }
  linear_ = register_module("linear", SNLinear(SNLinearOptions(16 * in, 1)
                                                   .spectral_norm(options.spectral_norm())
                                                   .power_iterations(options.power_iterations())));
}

torch::Tensor DCGANDiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = options.channels_last() ? to_channels_last(x) : x;
  for (const auto& conv : *convs_) h = torch::leaky_relu(conv->as<SNConv2dImpl>()->forward(h), 0.2);
  return linear_(h.flatten(1)).squeeze(1);
}

}  // namespace vgrow::models
