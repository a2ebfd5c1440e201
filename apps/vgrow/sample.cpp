#include <filesystem>
#include <iostream>

#include <torch/torch.h>

#include "commands.h"
#include "vgrow/experiment.h"
#include "vgrow/io/image_grid.h"
#include "vgrow/io/png.h"
#include "vgrow/run_outputs.h"

namespace vgrow::cli {
namespace fs = std::filesystem;

void add_sample(CLI::App& app) {
  struct Args {
    std::string checkpoint, out = "samples", grid, interpolate;
    int64_t count = 64, seed = 0, steps = 10;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "Draw samples from a trained generator");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file or run folder")->required();
  cmd->add_option("-n,--count", args->count, "number of samples")->check(CLI::PositiveNumber);
  cmd->add_option("-o,--out", args->out,
                  "folder for individual PNGs (images) or a CSV file (2-D data)");
  cmd->add_option("--grid", args->grid, "write one grid PNG instead of single files");
  cmd->add_option("--interpolate", args->interpolate,
                  "write a latent interpolation strip PNG (--steps images per row)");
  cmd->add_option("--steps", args->steps, "interpolation steps")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of the latents");
  cmd->callback([args] {
    auto trained = load_trained_generator(args->checkpoint);
    const auto& config = trained.config;
    auto& generator = trained.generator;
    torch::NoGradGuard no_grad;
    auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(args->seed));
    const bool images = trained.sample_shape.size() == 3;
    if (!args->interpolate.empty()) {
      TORCH_CHECK(images, "--interpolate needs an image generator");
      const auto ends = at::randn({2, 8, config.model.latent_dim}, gen);
      const auto t = torch::linspace(0, 1, args->steps).view({1, -1, 1});
      // Spherical-free linear path per row: 8 rows of `steps` images each.
      const auto z = (ends[0].unsqueeze(1) * (1 - t) + ends[1].unsqueeze(1) * t)
                         .reshape({-1, config.model.latent_dim});
      io::ImageGridOptions grid;
      grid.nrow = args->steps;
      io::save_image_grid(args->interpolate, generator.forward(z), grid);
      std::cout << "wrote " << args->interpolate << "\n";
      return;
    }
    const auto z = at::randn({args->count, config.model.latent_dim}, gen);
    const auto x = generator.forward(z);
    if (!images) {
      write_points_csv(args->out, x);
      std::cout << "wrote " << args->count << " points to " << args->out << "\n";
    } else if (!args->grid.empty()) {
      io::save_image_grid(args->grid, x);
      std::cout << "wrote " << args->grid << "\n";
    } else {
      fs::create_directories(args->out);
      for (int64_t i = 0; i < x.size(0); ++i) {
        char name[32];
        std::snprintf(name, sizeof(name), "%06lld.png", static_cast<long long>(i));
        io::write_png(fs::path(args->out) / name, x[i]);
      }
      std::cout << "wrote " << x.size(0) << " PNGs to " << args->out << " (from loop "
                << trained.loop << ")\n";
    }
  });
}

}  // namespace vgrow::cli
