#include "vgrow/models/mlp.h"

#include <torch/torch.h>

namespace vgrow::models {

MLPGeneratorImpl::MLPGeneratorImpl(MLPGeneratorOptions options_) : options(std::move(options_)) {
  reset();
}

void MLPGeneratorImpl::reset() {
  TORCH_CHECK(options.layers() >= 1 && options.hidden() >= 1,
              "MLP generator needs layers >= 1 and hidden >= 1, got layers ", options.layers(),
              ", hidden ", options.hidden());
  int64_t out = 1;
  for (auto s : options.output_shape()) out *= s;
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t in = options.latent_dim();
  for (int64_t i = 0; i < options.layers(); ++i) {
    layers_->push_back(SNLinear(SNLinearOptions(in, options.hidden()).spectral_norm(false)));
    in = options.hidden();
  }
  layers_->push_back(SNLinear(SNLinearOptions(in, out).spectral_norm(false)));
}

torch::Tensor MLPGeneratorImpl::forward(const torch::Tensor& z) {
  auto h = z;
  const auto n = static_cast<int64_t>(layers_->size());
  for (int64_t i = 0; i < n; ++i) {
    h = layers_[i]->as<SNLinearImpl>()->forward(h);
    if (i + 1 < n) h = torch::relu(h);
  }
  if (options.tanh_output()) h = torch::tanh(h);
  std::vector<int64_t> shape{z.size(0)};
  shape.insert(shape.end(), options.output_shape().begin(), options.output_shape().end());
  return h.view(shape);
}

MLPDiscriminatorImpl::MLPDiscriminatorImpl(MLPDiscriminatorOptions options_)
    : options(std::move(options_)) {
  reset();
}

void MLPDiscriminatorImpl::reset() {
  TORCH_CHECK(options.layers() >= 1 && options.hidden() >= 1,
              "MLP discriminator needs layers >= 1 and hidden >= 1, got layers ",
              options.layers(), ", hidden ", options.hidden());
  layers_ = register_module("layers", torch::nn::ModuleList());
  int64_t in = options.input_dim();
  for (int64_t i = 0; i <= options.layers(); ++i) {
    const int64_t out = i < options.layers() ? options.hidden() : 1;
    layers_->push_back(SNLinear(SNLinearOptions(in, out)
                                    .spectral_norm(options.spectral_norm())
                                    .power_iterations(options.power_iterations())));
    in = out;
  }
}

torch::Tensor MLPDiscriminatorImpl::forward(const torch::Tensor& x) {
  auto h = x.reshape({x.size(0), -1});
  const auto n = static_cast<int64_t>(layers_->size());
  for (int64_t i = 0; i < n; ++i) {
    h = layers_[i]->as<SNLinearImpl>()->forward(h);
    if (i + 1 < n) h = torch::leaky_relu(h, 0.2);
  }
  return h.squeeze(1);
}

}  // namespace vgrow::models
