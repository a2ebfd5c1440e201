// A short real training run on Fashion-MNIST: the generator must move toward the data.
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "config_helpers.h"
#include "vgrow/run/config.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/run/experiment.h"
#include "vgrow/io/pixels.h"

namespace {

// Mean over generated images of the L2 distance to the nearest real image.
double nearest_real_distance(const torch::Tensor& fake, const torch::Tensor& real) {
  const auto f = fake.reshape({fake.size(0), -1}).to(torch::kFloat64);
  const auto r = real.reshape({real.size(0), -1}).to(torch::kFloat64);
  return std::get<0>(torch::cdist(f, r).min(1)).mean().item<double>();
}

bool fashion_mnist_installed() {
  return std::filesystem::exists(std::string(vgrow::data::kFashionMnistDir) +
                                 "/train-images-idx3-ubyte.gz");
}

// 3000 images, width-8 DCGAN nets, one flow step per loop: G moves in 150 loops.
vgrow::Config small_config() {
  auto c = vgrow::testing::tiny_image_config(3000);
  c.run.threads = 2;
  c.flow.particle_steps = 1;
  c.flow.pool_batches = 1;
  c.flow.eta = 1.0;
  c.projection.schedule = "constant";
  c.projection.passes = 1;
  c.optim.name = "adam";
  c.optim.lr_g = c.optim.lr_d = 1e-3;
  c.optim.beta1 = 0.0;
  c.optim.milestones = {};
  return c;
}

// Nearest-real distance of G's samples at fixed latents before and after 150 loops.
std::pair<double, double> distance_before_and_after(vgrow::Trainer& trainer,
                                                    const vgrow::Config& c) {
  const auto real = vgrow::io::to_float(
      vgrow::data::load_image_dataset(vgrow::image_dataset_options(c, "train")).images);
  const auto z = torch::randn({128, c.model.latent_dim});
  const double before = nearest_real_distance(trainer.generate(z), real);
  for (int i = 0; i < 150; ++i) trainer.run_loop();
  return {before, nearest_real_distance(trainer.generate(z), real)};
}

TEST(ImageTraining, FashionMnistSamplesMoveTowardTheData) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist); "
                    ".ci/run installs it";
  }
  const auto c = small_config();
  auto trainer = vgrow::make_trainer(c);
  const auto [before, after] = distance_before_and_after(*trainer, c);
  std::cout << "nearest-real L2 distance: initial " << before << ", after 150 loops " << after
            << "\n";
  EXPECT_LT(after, 0.75 * before);
}

// The same run in bf16 with loss scaling on: G and D forwards under autocast, the scaler in
// every D and G step. Samples must come as close to the data as in fp32; the scalers' state
// must survive a checkpoint.
TEST(ImageTraining, Bf16WithLossScalingLearnsFashionMnist) {
  if (!fashion_mnist_installed()) {
    GTEST_SKIP() << "Fashion-MNIST not installed (apt-get install dataset-fashion-mnist)";
  }
  auto c = small_config();
  c.run.precision = "bf16";
  c.run.loss_scaling = true;
  auto trainer = vgrow::make_trainer(c);
  ASSERT_NE(trainer->d_loss_scaler(), nullptr);
  const auto [before, after] = distance_before_and_after(*trainer, c);
  std::cout << "bf16: nearest-real L2 distance: initial " << before << ", after 150 loops "
            << after << "; loss scales D " << trainer->d_loss_scaler()->scale_value() << ", G "
            << trainer->g_loss_scaler()->scale_value() << ", skipped steps D "
            << trainer->d_loss_scaler()->skipped_steps() << ", G "
            << trainer->g_loss_scaler()->skipped_steps() << "\n";
  EXPECT_LT(after, 0.75 * before);
  EXPECT_EQ(trainer->pool().particles.scalar_type(), torch::kFloat);

  torch::serialize::OutputArchive out;
  trainer->save(out);
  std::stringstream bytes;
  out.save_to(bytes);
  torch::serialize::InputArchive in;
  in.load_from(bytes);
  auto resumed = vgrow::make_trainer(c);
  resumed->load(in);
  EXPECT_EQ(resumed->d_loss_scaler()->scale_value(), trainer->d_loss_scaler()->scale_value());
  EXPECT_EQ(resumed->g_loss_scaler()->skipped_steps(),
            trainer->g_loss_scaler()->skipped_steps());
}

}  // namespace
