#pragma once
// Turns a resolved Config into the pieces of a run: data source, G and D, the trainer.

#include <memory>

#include <torch/nn/modules/container/any.h>

#include "vgrow/run/config.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/source.h"
#include "vgrow/core/trainer.h"

namespace vgrow {

// "auto" resolves to cuda when LibTorch sees a GPU.
torch::Device resolve_device(const std::string& name);

std::shared_ptr<data::RealSource> make_data_source(const Config& config);
// How the config's image dataset is loaded for a split ("train" or "test").
data::ImageDatasetOptions image_dataset_options(const Config& config, const std::string& split);

struct Networks {
  torch::nn::AnyModule generator;
  torch::nn::AnyModule discriminator;
};
// G maps [N, latent_dim] to samples of `sample_shape`; D maps those to [N] logits.
Networks make_networks(const Config& config, const std::vector<int64_t>& sample_shape);

// A generator restored from a checkpoint (or a run folder's newest one), in eval mode.
struct TrainedGenerator {
  Config config;
  std::vector<int64_t> sample_shape;
  int64_t loop = 0;
  torch::nn::AnyModule generator;
  bool averaged = false;  // the generator EMA's weights (model.ema_decay), not G's own
};
// The generator EMA when the checkpoint holds one, unless `raw`.
TrainedGenerator load_trained_generator(const std::string& checkpoint_or_run_dir,
                                        bool raw = false);

// What refinement at sampling time needs besides G: the checkpoint's D (eval mode) and the
// run's divergence.
struct TrainedDensityRatio {
  torch::nn::AnyModule discriminator;
  Divergence divergence;
};
TrainedDensityRatio load_trained_density_ratio(const std::string& checkpoint_or_run_dir);

TrainerOptions make_trainer_options(const Config& config);

// The divergence and its flow weighting (flow.divergence, flow.weighting, caps).
Divergence make_divergence(const Config& config);
// Seeds, threads, data, networks and trainer, in an order that makes runs repeatable.
std::unique_ptr<Trainer> make_trainer(const Config& config);

// OpenBLAS's threads for a run: run.threads for the MLPs, whose work is all matrix products;
// one for the convolutional models, whose convolutions run in oneDNN on LibTorch's threads and
// whose few small products (linear layers, spectral norm) do not pay for a second pool, which
// spins in sched_yield between calls against oneDNN's threads (docs/benchmarks.md).
int blas_threads(const Config& config);

}  // namespace vgrow
