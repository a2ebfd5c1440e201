#pragma once
// Networks the tests share.

#include <cstdint>

#include <torch/torch.h>

#include "vgrow/models/resnet.h"

namespace vgrow::testing {

// A ResNet D seeded with `seed` whose spectral-norm u, v have settled: from random vectors
// sigma is far off (D's gradients are then ~1e7), so four training-mode forwards come first.
inline models::ResNetDiscriminator settled_discriminator(
    uint64_t seed, const models::ResNetDiscriminatorOptions& options) {
  torch::manual_seed(seed);
  models::ResNetDiscriminator d(options);
  torch::NoGradGuard no_grad;
  const auto zeros =
      torch::zeros({1, options.channels(), options.image_size(), options.image_size()});
  for (int i = 0; i < 4; ++i) d->forward(zeros);
  return d;
}

}  // namespace vgrow::testing
