// Trains a VGrow generator on your own 2-D point set, using only vgrow's public API.
//   train_points [points.csv or ""] [loops]
// Without a file it makes a ring of 4000 points (radius 10, width 0.5). Prints the energy
// distance between generated and real points before and after training (lower is better; 0
// means the same distribution), and fails unless training lowered it.
#include <cmath>
#include <iostream>
#include <memory>
#include <string>

#include <torch/torch.h>

#include "vgrow/vgrow.h"

namespace {

torch::Tensor ring(int64_t n) {
  const auto angle = torch::rand({n}) * 2 * M_PI;
  const auto radius = 10.0 + 0.5 * torch::randn({n});
  return torch::stack({radius * angle.cos(), radius * angle.sin()}, 1);
}

}  // namespace

int main(int argc, char** argv) try {
  torch::manual_seed(0);
  const bool own_file = argc > 1 && *argv[1] != '\0';
  const auto points = own_file ? vgrow::data::load_csv_points(argv[1]) : ring(4000);
  const int64_t loops = argc > 2 ? std::stoll(argv[2]) : 200;
  auto data = std::make_shared<vgrow::data::PointCloudSource>(points, "my points");

  vgrow::TrainerOptions options;
  options.batch_size = 256;
  options.pool_batches = 4;
  options.particle_steps = 5;
  options.d_steps = 5;
  options.latent_dim = 8;
  options.flow.eta(0.5).clamp_min(std::nullopt).clamp_max(std::nullopt);  // points are unbounded
  options.projection = vgrow::ProjectionSchedule::constant(3);
  options.g_optimizer = {"adam", 1e-3, 0.99, 0.5, 0.999, 1e-8};
  options.d_optimizer = options.g_optimizer;

  namespace models = vgrow::models;
  torch::nn::AnyModule generator{
      models::MLPGenerator(models::MLPGeneratorOptions().latent_dim(options.latent_dim))};
  torch::nn::AnyModule discriminator{models::MLPDiscriminator(models::MLPDiscriminatorOptions())};
  vgrow::Trainer trainer(options, generator, discriminator, data,
                         vgrow::Divergence::from_name("kl"));

  auto distance = [&] {
    const auto samples = trainer.generate(torch::randn({2000, options.latent_dim}));
    const auto real = points.index_select(0, torch::randint(points.size(0), {2000}));
    return vgrow::metrics::energy_distance(samples, real);
  };
  const double before = distance();
  for (int64_t i = 0; i < loops; ++i) {
    const auto stats = trainer.run_loop();
    if ((i + 1) % 50 == 0) {
      std::cout << "loop " << stats.loop + 1 << ": D loss " << stats.d_loss_real << " / "
                << stats.d_loss_particles << ", projection loss " << stats.projection_loss
                << "\n";
    }
  }
  const double after = distance();
  std::cout << "energy distance to the data: " << before << " before, " << after << " after "
            << loops << " loops\n";
  return after < before ? 0 : 1;
} catch (const std::exception& e) {
  std::cerr << "train_points: " << e.what() << "\n";
  return 1;
}
