#include <filesystem>
#include <iostream>
#include <regex>

#include <torch/torch.h>

#include "commands.h"
#include "vgrow/run/experiment.h"
#include "vgrow/io/image_grid.h"
#include "vgrow/io/png.h"
#include "vgrow/run/run_outputs.h"

namespace vgrow::cli {
namespace fs = std::filesystem;

namespace {

// Generated in chunks, so memory stays bounded by the chunk whatever -n says.
constexpr int64_t kSampleChunk = 1000;
constexpr int64_t kMaxSamples = 10'000'000;
constexpr int64_t kMaxInterpolationSteps = 1000;

bool is_sample_png(const fs::path& file) {
  static const std::regex name("[0-9]{6,}\\.png");
  return std::regex_match(file.filename().string(), name);
}

// A folder that already holds PNGs would mix two sets of samples (and a scorer would read
// both): refused, unless --overwrite asks to remove the earlier samples (NNNNNN.png) first.
void prepare_sample_folder(const fs::path& dir, bool overwrite) {
  fs::create_directories(dir);
  std::vector<fs::path> ours, others;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() != ".png") continue;
    (is_sample_png(entry.path()) ? ours : others).push_back(entry.path());
  }
  TORCH_CHECK(others.empty(), "output folder '", dir.string(), "' holds ", others.size(),
              " other PNG file(s) (e.g. '", others.empty() ? "" : others[0].filename().string(),
              "'): choose an empty folder");
  TORCH_CHECK(ours.empty() || overwrite, "output folder '", dir.string(), "' already holds ",
              ours.size(), " sample PNG(s): choose another folder, or pass --overwrite to "
              "replace them");
  for (const auto& file : ours) fs::remove(file);
}

}  // namespace

void add_sample(CLI::App& app) {
  struct Args {
    std::string checkpoint, out = "samples", grid, interpolate;
    int64_t count = 64, seed = 0, steps = 10;
    bool overwrite = false;
    SamplerArgs sampler;
  };
  auto args = std::make_shared<Args>();
  auto* cmd = app.add_subcommand("sample", "Draw samples from a trained generator");
  cmd->add_option("checkpoint", args->checkpoint, "checkpoint file or run folder")->required();
  cmd->add_option("-n,--count", args->count, "number of samples")
      ->check(CLI::Range(int64_t{1}, kMaxSamples));
  cmd->add_option("-o,--out", args->out,
                  "folder for individual PNGs (images) or a CSV file (2-D data)");
  cmd->add_option("--grid", args->grid, "write one grid PNG instead of single files");
  cmd->add_option("--interpolate", args->interpolate,
                  "write a latent interpolation strip PNG (--steps images per row)");
  cmd->add_option("--steps", args->steps, "interpolation steps")
      ->check(CLI::Range(int64_t{2}, kMaxInterpolationSteps));
  cmd->add_flag("--overwrite", args->overwrite,
                "replace the sample PNGs (NNNNNN.png) already in the -o folder");
  cmd->add_option("--seed", args->seed, "seed of the latents");
  add_sampler_options(cmd, args->sampler);
  cmd->callback([args] {
    Sampler sampler(args->checkpoint, args->sampler.resolved(static_cast<uint64_t>(args->seed)));
    const auto& trained = sampler.trained();
    const auto& config = trained.config;
    const auto generator = [&](const torch::Tensor& z) { return sampler.draw(z); };
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
      io::save_image_grid(args->interpolate, generator(z), grid);
      std::cout << "wrote " << args->interpolate << "\n";
      return;
    }
    auto chunk = [&](int64_t start) {
      const auto n = std::min(kSampleChunk, args->count - start);
      return generator(at::randn({n, config.model.latent_dim}, gen));
    };
    if (!images) {
      std::vector<torch::Tensor> parts;
      for (int64_t start = 0; start < args->count; start += kSampleChunk) {
        parts.push_back(chunk(start));
      }
      write_points_csv(args->out, torch::cat(parts));
      std::cout << "wrote " << args->count << " points to " << args->out << "\n";
    } else if (!args->grid.empty()) {
      TORCH_CHECK(args->count <= 4096, "--grid draws at most 4096 images in one PNG, got -n ",
                  args->count);
      io::save_image_grid(args->grid,
                          generator(at::randn({args->count, config.model.latent_dim}, gen)));
      std::cout << "wrote " << args->grid << "\n";
    } else {
      prepare_sample_folder(args->out, args->overwrite);
      for (int64_t start = 0; start < args->count; start += kSampleChunk) {
        const auto x = chunk(start);
        for (int64_t i = 0; i < x.size(0); ++i) {
          char name[32];
          std::snprintf(name, sizeof(name), "%06lld.png", static_cast<long long>(start + i));
          io::write_png(fs::path(args->out) / name, x[i]);
        }
      }
      std::cout << "wrote " << args->count << " PNGs to " << args->out << " (" << sampler.describe()
                << " after loop " << trained.loop << ")\n";
    }
  });
}

}  // namespace vgrow::cli
