#include "vgrow/run/sampler.h"

#include <cstdio>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace vgrow {

int64_t default_refine_steps(const Config& config) { return config.is_image_data() ? 10 : 0; }

Sampler::Sampler(const std::string& checkpoint_or_run_dir, const SamplerOptions& options)
    : options_(options),
      trained_(load_trained_generator(checkpoint_or_run_dir, options.raw)),
      ratio_{torch::nn::AnyModule(), Divergence(DivergenceKind::KL)},
      noise_(at::make_generator<at::CPUGeneratorImpl>(options.seed)) {
  if (options_.refine.steps < 0) options_.refine.steps = default_refine_steps(trained_.config);
  if (options_.refine.steps > 0) {
    ratio_ = load_trained_density_ratio(checkpoint_or_run_dir);
    // Images are clamped as in training; 2-D data, like its training flow, are not.
    if (!trained_.config.flow.clamp) options_.refine.flow.clamp_min(std::nullopt).clamp_max(std::nullopt);
  }
}

torch::Tensor Sampler::draw(const torch::Tensor& latents) {
  auto& g = trained_.generator;
  if (options_.refine.steps == 0) {
    torch::NoGradGuard no_grad;
    return g.forward(latents);
  }
  if (options_.refine.space == RefineSpace::Latent) {
    return refine_latents(g, ratio_.discriminator, ratio_.divergence, latents, options_.refine,
                          noise_);
  }
  torch::Tensor x;
  {
    torch::NoGradGuard no_grad;
    x = g.forward(latents);
  }
  return refine_samples(ratio_.discriminator, ratio_.divergence, x, options_.refine);
}

std::string Sampler::describe() const {
  std::string text = trained_.averaged ? "G (EMA)" : "G";
  const auto& r = options_.refine;
  if (r.steps > 0) {
    char more[128];
    std::snprintf(more, sizeof more, " + %lld %s-space steps, eta %g",
                  static_cast<long long>(r.steps), refine_space_name(r.space).c_str(), r.eta);
    text += more;
    if (r.space == RefineSpace::Latent && r.noise > 0) {
      std::snprintf(more, sizeof more, ", noise %g", r.noise);
      text += more;
    }
  }
  return text;
}

}  // namespace vgrow
