#pragma once
// The smallest real training config: 2-D toy data, one-layer MLPs, one 64-particle batch, a
// few milliseconds a loop on the CPU. Tests change what they are about.

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

}  // namespace vgrow::testing
