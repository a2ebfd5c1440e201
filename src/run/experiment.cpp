#include "vgrow/run/experiment.h"

#include "vgrow/run/runtime_settings.h"

#include <torch/torch.h>

#include "vgrow/data/toy2d.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/models/dcgan.h"
#include "vgrow/models/mlp.h"
#include "vgrow/models/resnet.h"
#include "vgrow/support/threads.h"

namespace vgrow {

torch::Device resolve_device(const std::string& name) {
  if (name == "cpu") return torch::kCPU;
  if (name == "cuda") {
    TORCH_CHECK(torch::cuda::is_available(),
                "run.device = cuda, but LibTorch sees no CUDA device (this build: ",
                torch::cuda::is_available() ? "CUDA" : "CPU only", ")");
    return torch::kCUDA;
  }
  TORCH_CHECK(name == "auto", "unknown device '", name, "' (cpu, cuda or auto)");
  return torch::cuda::is_available() ? torch::Device(torch::kCUDA) : torch::Device(torch::kCPU);
}

Networks make_networks(const Config& c, const std::vector<int64_t>& sample_shape) {
  const auto& m = c.model;
  if (m.arch == "resnet") {
    TORCH_CHECK(sample_shape.size() == 3, "the ResNet models need images, got samples of rank ",
                sample_shape.size());
    const int64_t channels = sample_shape[0], size = sample_shape[1];
    return {torch::nn::AnyModule(models::ResNetGenerator(models::ResNetGeneratorOptions()
                                                             .latent_dim(m.latent_dim)
                                                             .width(m.g_width)
                                                             .channels(channels)
                                                             .image_size(size)
                                                             .spectral_norm(m.spectral_norm)
                                                             .power_iterations(m.power_iterations)
                                                             .fused_resampling(m.fused_resampling)
                                                             .channels_last(m.channels_last))),
            torch::nn::AnyModule(
                models::ResNetDiscriminator(models::ResNetDiscriminatorOptions()
                                                .width(m.d_width)
                                                .channels(channels)
                                                .image_size(size)
                                                .spectral_norm(m.spectral_norm)
                                                .power_iterations(m.power_iterations)
                                                .fused_resampling(m.fused_resampling)
                                                .channels_last(m.channels_last)))};
  }
  if (m.arch == "dcgan") {
    TORCH_CHECK(sample_shape.size() == 3, "the DCGAN models need images, got samples of rank ",
                sample_shape.size());
    const int64_t channels = sample_shape[0], size = sample_shape[1];
    return {torch::nn::AnyModule(models::DCGANGenerator(models::DCGANGeneratorOptions()
                                                            .latent_dim(m.latent_dim)
                                                            .width(m.g_width)
                                                            .channels(channels)
                                                            .image_size(size)
                                                            .fused_resampling(m.fused_resampling)
                                                            .channels_last(m.channels_last))),
            torch::nn::AnyModule(models::DCGANDiscriminator(
                models::DCGANDiscriminatorOptions()
                    .width(m.d_width)
                    .channels(channels)
                    .image_size(size)
                    .spectral_norm(m.spectral_norm)
                    .power_iterations(m.power_iterations)
                    .channels_last(m.channels_last)))};
  }
  int64_t numel = 1;
  for (auto s : sample_shape) numel *= s;
  return {torch::nn::AnyModule(models::MLPGenerator(models::MLPGeneratorOptions()
                                                        .latent_dim(m.latent_dim)
                                                        .hidden(m.mlp_hidden)
                                                        .layers(m.mlp_layers)
                                                        .output_shape(sample_shape)
                                                        .tanh_output(c.is_image_data()))),
          torch::nn::AnyModule(models::MLPDiscriminator(models::MLPDiscriminatorOptions()
                                                            .input_dim(numel)
                                                            .hidden(m.mlp_hidden)
                                                            .layers(m.mlp_layers)
                                                            .spectral_norm(m.spectral_norm)
                                                            .power_iterations(m.power_iterations)))};
}

TrainedGenerator load_trained_generator(const std::string& checkpoint_or_run_dir, bool raw) {
  const auto file = io::resolve_checkpoint(checkpoint_or_run_dir);
  const auto info = io::read_generator_checkpoint(file);
  TrainedGenerator out;
  apply_toml(out.config, info.config_toml, file.string());
  // The stored config builds the network: refused before it can ask for absurd sizes.
  try {
    validate(out.config);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "checkpoint '", file.string(), "' holds an invalid config: ",
                e.what_without_backtrace());
  }
  out.sample_shape = info.sample_shape;
  out.loop = info.loop;
  out.generator = make_networks(out.config, info.sample_shape).generator;
  out.averaged = io::load_generator_weights(file, *out.generator.ptr(), !raw);
  out.generator.ptr()->eval();
  return out;
}

TrainedDensityRatio load_trained_density_ratio(const std::string& checkpoint_or_run_dir) {
  const auto file = io::resolve_checkpoint(checkpoint_or_run_dir);
  const auto info = io::read_generator_checkpoint(file);
  Config config;
  apply_toml(config, info.config_toml, file.string());
  validate(config);
  TrainedDensityRatio out{make_networks(config, info.sample_shape).discriminator,
                          make_divergence(config)};
  io::load_discriminator_weights(file, *out.discriminator.ptr());
  out.discriminator.ptr()->eval();
  for (auto& p : out.discriminator.ptr()->parameters()) p.set_requires_grad(false);
  return out;
}

TrainerOptions make_trainer_options(const Config& c) {
  TrainerOptions o;
  o.batch_size = c.flow.batch_size;
  o.pool_batches = c.flow.pool_batches;
  o.particle_steps = c.flow.particle_steps;
  o.d_steps = c.flow.d_steps;
  o.latent_dim = c.model.latent_dim;
  o.ema_decay = c.model.ema_decay;
  o.flow.eta(c.flow.eta).chunk_size(c.flow.chunk_size);
  if (!c.flow.clamp) o.flow.clamp_min(std::nullopt).clamp_max(std::nullopt);
  o.projection = ProjectionSchedule::from_name(c.projection.schedule, c.projection.passes);
  o.g_optimizer = c.g_optimizer();
  o.d_optimizer = c.d_optimizer();
  o.lr_milestones = c.optim.milestones;
  o.lr_gamma = c.optim.gamma;
  o.device = resolve_device(c.run.device);
  o.precision = parse_precision(c.run.precision);
  o.loss_scaling = c.run.loss_scaling;
  o.cuda_graphs = c.run.cuda_graphs;
  o.method = training_method_from_name(c.run.method);
  return o;
}

Divergence make_divergence(const Config& c) {
  DivergenceOptions options;
  options.max_velocity_scale = c.flow.max_weight;
  options.max_relative_weight = c.flow.max_relative_weight;
  const auto plain = Divergence::from_name(c.flow.divergence, options);
  const bool relative = c.flow.weighting == "relative" ||
                        (c.flow.weighting == "auto" && plain.weight_grows_exponentially());
  options.weighting = relative ? FlowWeighting::Relative : FlowWeighting::Exact;
  return Divergence(plain.kind(), options);
}

int blas_threads(const Config& c) {
  return c.model.arch == "mlp" ? static_cast<int>(c.run.threads) : 1;
}

std::unique_ptr<Trainer> make_trainer(const Config& c) {
  validate(c);
  set_compute_threads(static_cast<int>(c.run.threads), blas_threads(c));
  TORCH_CHECK(!c.run.reproducible || reproducible_kernels_pinned(),
              "run.reproducible: the kernels are not pinned in this process; call "
              "vgrow::pin_reproducible_kernels() before anything else (the vgrow CLI does)");
  // oneDNN's convolution blocking follows the CPU's caches: off for reproducible runs.
  at::globalContext().setUserEnabledMkldnn(!c.run.reproducible);
  torch::manual_seed(static_cast<uint64_t>(c.run.seed));
  auto source = make_data_source(c);
  auto nets = make_networks(c, source->sample_shape());
  auto options = make_trainer_options(c);
  TORCH_CHECK(!c.run.reproducible || options.device.is_cpu(),
              "run.reproducible pins CPU kernels, but run.device = auto chose ", options.device,
              ": set run.device = cpu");
  return std::make_unique<Trainer>(std::move(options), nets.generator, nets.discriminator,
                                   source, make_divergence(c));
}

}  // namespace vgrow
