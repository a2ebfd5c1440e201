#include "vgrow/core/refinement.h"

#include <cmath>

#include <torch/torch.h>

#include "core/name_table.h"

namespace vgrow {
namespace {
constexpr Named<RefineSpace> kSpaces[] = {{"data", RefineSpace::Data},
                                          {"latent", RefineSpace::Latent}};
}  // namespace

RefineSpace parse_refine_space(const std::string& name) {
  const auto space = find_named(kSpaces, name);
  TORCH_CHECK(space, "refinement space must be ", known_names(kSpaces), ", got '", name, "'");
  return *space;
}

std::string refine_space_name(RefineSpace space) { return name_of(kSpaces, space); }

namespace {

void check(const RefineOptions& o) {
  TORCH_CHECK(o.steps >= 0, "refinement steps must be >= 0, got ", o.steps);
  TORCH_CHECK(o.steps == 0 || (o.eta > 0.0 && std::isfinite(o.eta)),
              "refinement step size must be positive, got ", o.eta);
  TORCH_CHECK(o.noise >= 0.0 && std::isfinite(o.noise), "refinement noise must be >= 0, got ",
              o.noise);
}

}  // namespace

torch::Tensor refine_samples(torch::nn::AnyModule& discriminator, const Divergence& divergence,
                             torch::Tensor samples, const RefineOptions& options) {
  check(options);
  if (options.steps == 0) return samples;
  auto x = samples.clone();
  auto flow = options.flow;
  flow.eta(options.eta);
  for (int64_t k = 0; k < options.steps; ++k) flow_step(discriminator, x, divergence, flow);
  return x;
}

torch::Tensor refine_latents(torch::nn::AnyModule& generator,
                             torch::nn::AnyModule& discriminator, const Divergence& divergence,
                             torch::Tensor latents, const RefineOptions& options,
                             at::Generator noise_source) {
  check(options);
  if (options.steps == 0) {
    torch::NoGradGuard no_grad;
    return generator.forward(latents);
  }
  const int64_t chunk = options.flow.chunk_size();
  TORCH_CHECK(chunk > 0, "refinement chunk size must be positive");
  std::vector<torch::Tensor> out;
  for (int64_t start = 0; start < latents.size(0); start += chunk) {
    auto z = latents.slice(0, start, std::min(latents.size(0), start + chunk)).detach().clone();
    for (int64_t k = 0; k < options.steps; ++k) {
      torch::Tensor step;
      {
        torch::AutoGradMode grad(true);
        z.set_requires_grad(true);
        const auto x = generator.forward(z);
        const auto v = flow_velocity(discriminator, x.detach(), divergence).along(1.0);
        step = torch::autograd::grad({x}, {z}, {v})[0];
      }
      torch::NoGradGuard no_grad;
      z = z.detach() + options.eta * step;
      if (options.noise > 0.0) {
        z += std::sqrt(2.0 * options.eta) * options.noise *
             at::randn(z.sizes(), noise_source, z.options());
      }
    }
    torch::NoGradGuard no_grad;
    out.push_back(generator.forward(z.detach()));
  }
  return torch::cat(out);
}

}  // namespace vgrow
