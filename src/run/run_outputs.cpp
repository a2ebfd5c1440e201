#include "vgrow/run/run_outputs.h"

#include <cstdio>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/io/atomic_file.h"
#include "vgrow/io/image_grid.h"
#include "vgrow/io/plots.h"

namespace vgrow {
namespace fs = std::filesystem;

namespace {

std::string numbered(const char* stem, int64_t loop, const char* ext) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%s-%06lld.%s", stem, static_cast<long long>(loop), ext);
  return buf;
}

}  // namespace

void write_points_csv(const fs::path& file, const torch::Tensor& points) {
  const auto p = points.to(torch::kFloat64).reshape({points.size(0), -1}).contiguous();
  std::ostringstream out;
  out.precision(7);
  if (p.size(1) == 2) {
    out << "x,y\n";
  } else {
    for (int64_t j = 0; j < p.size(1); ++j) out << (j ? ",x" : "x") << j;
    out << "\n";
  }
  const auto* d = p.data_ptr<double>();
  for (int64_t i = 0; i < p.size(0); ++i) {
    for (int64_t j = 0; j < p.size(1); ++j) out << (j ? "," : "") << d[i * p.size(1) + j];
    out << "\n";
  }
  io::write_text_atomically(file, out.str());
}

RunOutputs::RunOutputs(const Config& config, fs::path run_dir, Trainer& trainer)
    : images_(config.is_image_data()), every_(config.run.sample_every), dir_(std::move(run_dir)) {
  TORCH_CHECK(every_ >= 1, "RunOutputs: run.sample_every must be at least 1, got ", every_);
  // Fixed latents from their own generator, so growth is visible across grids and the
  // training stream of random numbers is not disturbed.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(config.run.seed) + 1);
  const int64_t n = images_ ? 64 : 2000;
  fixed_latents_ = at::randn({n, config.model.latent_dim}, gen);
  if (!images_) reference_ = trainer.data().preview(2000);
}

void RunOutputs::write_initial(Trainer& trainer) {
  if (images_) {
    io::save_image_grid(dir_ / "reals.png", trainer.data().preview(64));
  } else {
    write_points_csv(dir_ / "target.csv", reference_);
  }
}

void RunOutputs::write(Trainer& trainer, const fs::path& stats_csv) {
  const int64_t loop = trainer.loop();
  const auto samples = trainer.generate(fixed_latents_);
  const auto particles = trainer.pool().particles.detach().cpu();
  if (images_) {
    io::save_image_grid(dir_ / numbered("samples", loop, "png"), samples);
    io::save_image_grid(dir_ / numbered("particles", loop, "png"),
                        particles.narrow(0, 0, std::min<int64_t>(64, particles.size(0))));
  } else {
    write_points_csv(dir_ / numbered("samples", loop, "csv"), samples);
    write_points_csv(dir_ / numbered("particles", loop, "csv"), particles);
    io::plot_scatter(dir_ / numbered("samples", loop, "png"), reference_, samples,
                     "G(z) after outer loop " + std::to_string(loop));
  }
  io::plot_curves(dir_ / "curves.png", stats_csv, "loop",
                  {"d_loss_real", "d_loss_particles", "grad_norm", "projection_loss", "mean_d",
                   "seconds"});
}

}  // namespace vgrow
