#include <iomanip>
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/experiment.h"
#include "vgrow/io/checkpoint.h"
#include "vgrow/metrics/toy2d_metrics.h"

namespace vgrow::cli {

namespace {

// 2-D runs: energy distance to fresh target samples and, for Gaussian-mode targets, coverage.
void eval_toy(const Config& config, torch::nn::AnyModule& generator, int64_t n, int64_t seed) {
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  const auto samples = generator.forward(at::randn({n, config.model.latent_dim}, gen));
  torch::manual_seed(static_cast<uint64_t>(seed) + 1);
  const auto target = data::sample_toy2d(config.data.target, n);
  std::cout << std::setprecision(5) << "{\"target\":\"" << config.data.target
            << "\",\"samples\":" << n
            << ",\"energy_distance\":" << metrics::energy_distance(samples, target);
  const auto modes = data::toy2d_modes(config.data.target);
  if (modes.centres.defined()) {
    const auto cov = metrics::mode_coverage(samples, modes.centres, 3 * modes.sigma, 0.05);
    std::cout << ",\"modes\":" << modes.centres.size(0) << ",\"modes_covered\":" << cov.covered
              << ",\"off_mode\":" << cov.off_mode << ",\"mode_fractions\":[";
    for (size_t i = 0; i < cov.fractions.size(); ++i) std::cout << (i ? "," : "") << cov.fractions[i];
    std::cout << "]";
  }
  std::cout << "}\n";
}

}  // namespace

void add_eval(CLI::App& app) {
  struct Args {
    std::string checkpoint;
    int64_t count = 5000, seed = 0;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("eval", "Score a trained generator");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file or run folder")->required();
  cmd->add_option("-n,--count", args->count, "generated samples to score")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of the latents and reference draws");
  cmd->callback([args] {
    const auto file = io::resolve_checkpoint(args->checkpoint);
    const auto info = io::read_generator_checkpoint(file);
    Config config;
    apply_toml(config, info.config_toml, file.string());
    auto nets = make_networks(config, info.sample_shape);
    io::load_generator_weights(file, *nets.generator.ptr());
    nets.generator.ptr()->eval();
    torch::NoGradGuard no_grad;
    TORCH_CHECK(config.data.dataset == "toy",
                "vgrow eval of image generators is not available in this build yet");
    eval_toy(config, nets.generator, args->count, args->seed);
  });
}

}  // namespace vgrow::cli
