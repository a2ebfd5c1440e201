// A short real training run on Fashion-MNIST: the generator must move toward the data.
#include <filesystem>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/config.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/experiment.h"

namespace {

// Mean over generated images of the L2 distance to the nearest real image.
double nearest_real_distance(const torch::Tensor& fake, const torch::Tensor& real) {
  const auto f = fake.reshape({fake.size(0), -1}).to(torch::kFloat64);
  const auto r = real.reshape({real.size(0), -1}).to(torch::kFloat64);
  return std::get<0>(torch::cdist(f, r).min(1)).mean().item<double>();
}

TEST(ImageTraining, FashionMnistSamplesMoveTowardTheData) {
  if (!std::filesystem::exists(std::string(vgrow::data::kFashionMnistDir) +
                               "/train-images-idx3-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist); "
                    ".ci/run installs it";
  }
  vgrow::Config c;
  c.run.threads = 2;
  c.data.limit = 3000;
  c.model.g_width = 8;
  c.model.d_width = 8;
  c.flow.particle_steps = 1;
  c.flow.pool_batches = 1;
  c.flow.eta = 1.0;
  c.projection.schedule = "constant";
  c.projection.passes = 1;
  c.optim.name = "adam";
  c.optim.lr_g = c.optim.lr_d = 1e-3;
  c.optim.beta1 = 0.0;
  c.optim.milestones = {};
  auto trainer = vgrow::make_trainer(c);
  const auto real = vgrow::data::to_float(
      vgrow::data::load_image_dataset(vgrow::image_dataset_options(c, "train")).images);
  const auto z = torch::randn({128, c.model.latent_dim});
  const double before = nearest_real_distance(trainer->generate(z), real);
  for (int i = 0; i < 150; ++i) trainer->run_loop();
  const double after = nearest_real_distance(trainer->generate(z), real);
  std::cout << "nearest-real L2 distance: initial " << before << ", after 150 loops " << after
            << "\n";
  EXPECT_LT(after, 0.75 * before);
}

}  // namespace
