#pragma once
// The smallest real training configs: 2-D toy data, one-layer MLPs, one 64-particle batch, a
// few milliseconds a loop on the CPU; or the first Fashion-MNIST images with width-8 DCGAN
// nets. Tests change what they are about.

#include "vgrow/run/config.h"

namespace vgrow::testing {

inline Config tiny_toy_config() {
  Config c;
  c.run.threads = 1;
  c.run.device = "cpu";
  c.data.dataset = "toy";
  c.model.arch = "mlp";
  c.model.latent_dim = 4;
  c.model.mlp_hidden = 16;
  c.model.mlp_layers = 1;
  c.model.spectral_norm = false;
  c.flow.particle_steps = 1;
  c.flow.d_steps = 1;
  c.flow.pool_batches = 1;
  c.flow.batch_size = 64;
  c.flow.clamp = false;
  return c;
}

inline Config tiny_image_config(int64_t images) {
  Config c;
  c.run.threads = 1;
  c.data.limit = images;
  c.model.g_width = 8;
  c.model.d_width = 8;
  return c;
}

}  // namespace vgrow::testing
