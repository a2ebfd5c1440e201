#include "commands.h"

namespace vgrow::cli {

void add_sampler_options(CLI::App* cmd, SamplerArgs& args) {
  cmd->add_flag("--raw", args.options.raw,
                "G's own weights, not its EMA (runs trained with model.ema_decay)");
  cmd->add_option("--refine", args.options.refine.steps,
                  "refine the samples with K flow steps of the run's D (default: 10 for "
                  "images, 0 for 2-D data; 0: G's samples as they are)")
      ->check(CLI::Range(int64_t{0}, int64_t{1000}));
  cmd->add_option("--refine-space", args.space,
                  "latent (default): the flow pulled back through G, on z; data: the training "
                  "flow step on the samples")
      ->check(CLI::IsMember({"data", "latent"}));
  cmd->add_option("--refine-eta", args.options.refine.eta, "refinement step size (default 0.05)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--refine-noise", args.options.refine.noise,
                  "latent space: Langevin noise scale (0: none)")
      ->check(CLI::NonNegativeNumber);
}

SamplerOptions SamplerArgs::resolved(uint64_t seed) const {
  auto o = options;
  o.refine.space = parse_refine_space(space);
  o.seed = seed + 7;  // the noise stream, apart from the latents' stream
  return o;
}

}  // namespace vgrow::cli
