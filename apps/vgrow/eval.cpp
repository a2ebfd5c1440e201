#include <filesystem>
#include <memory>

#include <torch/torch.h>

#include "commands.h"
#include "json_line.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/metrics/classifier.h"
#include "vgrow/metrics/gaussian_stats.h"
#include "vgrow/metrics/inception.h"
#include "vgrow/metrics/protocol.h"
#include "vgrow/metrics/reference_stats.h"
#include "vgrow/metrics/toy2d_metrics.h"
#include "vgrow/run/checkpoint.h"
#include "vgrow/run/experiment.h"
#include "vgrow/support/threads.h"

namespace vgrow::cli {

namespace {

// 2-D runs: energy distance to fresh target samples and, for Gaussian-mode targets, coverage.
void eval_toy(Sampler& sampler, int64_t n, int64_t seed) {
  const auto& config = sampler.trained().config;
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  const auto samples = sampler.draw(at::randn({n, config.model.latent_dim}, gen));
  torch::manual_seed(static_cast<uint64_t>(seed) + 1);
  const auto target = data::sample_toy2d(config.data.target, n);
  nlohmann::ordered_json line;
  line["target"] = config.data.target;
  line["generator"] = sampler.describe();
  line["samples"] = n;
  line["energy_distance"] = metrics::energy_distance(samples, target);
  const auto modes = data::toy2d_modes(config.data.target);
  if (modes.centres.defined()) {
    const auto cov = metrics::mode_coverage(samples, modes.centres, 3 * modes.sigma, 0.05);
    line["modes"] = modes.centres.size(0);
    line["modes_covered"] = cov.covered;
    line["off_mode"] = cov.off_mode;
    line["mode_fractions"] = cov.fractions;
  }
  print_json_line(line);
}

// Images to score, handed to the extractor chunk by chunk.
struct ImageSet {
  int64_t count = 0;
  int64_t size = 0;     // H = W
  std::string dataset;  // the split's or the run's dataset; empty for a folder
  metrics::ImageChunks chunks;
  std::string generator;  // for a checkpoint: what draws the images (Sampler::describe)
};

// Generated on the fly from a checkpoint, read from a folder of PNG/JPEG, or a dataset split
// ("dataset:fashion-mnist:test").
ImageSet images_from(const std::string& source, int64_t n, int64_t seed, int64_t image_size,
                     const SamplerOptions& sampling = {}) {
  const bool split = source.rfind("dataset:", 0) == 0;
  if (split || (std::filesystem::is_directory(source) && io::list_checkpoints(source).empty())) {
    TORCH_CHECK(sampling.refine.steps <= 0 && !sampling.raw, "--refine and --raw change how a ",
                "checkpoint draws its samples; '", source, "' is a set of images");
    data::ImageDatasetOptions o;
    if (split) {
      const auto rest = source.substr(8);
      const auto colon = rest.find(':');
      o.kind = rest.substr(0, colon);
      o.split = colon == std::string::npos ? "test" : rest.substr(colon + 1);
    } else {
      o.kind = "folder";
      o.path = source;
      o.channels = 1;
    }
    o.image_size = image_size;
    const auto images = data::load_image_dataset(o).images;  // uint8, converted per chunk
    return {images.size(0), images.size(2), split ? o.kind : "", metrics::chunks_of(images), ""};
  }
  auto sampler = std::make_shared<Sampler>(source, sampling);
  const auto& config = sampler->trained().config;
  TORCH_CHECK(config.is_image_data(), "'", source, "' is not an image generator");
  // Latents drawn 500 at a time, as earlier versions did: the same seed scores the same images.
  auto gen = at::make_generator<at::CPUGeneratorImpl>(static_cast<uint64_t>(seed));
  std::vector<torch::Tensor> parts;
  for (int64_t start = 0; start < n; start += 500) {
    parts.push_back(at::randn({std::min<int64_t>(500, n - start), config.model.latent_dim}, gen));
  }
  const auto latents = torch::cat(parts);
  return {n, sampler->trained().sample_shape.at(1), config.data.dataset,
          [sampler, latents](int64_t start, int64_t count) {
            return sampler->draw(latents.slice(0, start, start + count));
          },
          sampler->describe()};
}

// --inception, else --classifier, else the dataset's own classifier (yours in classifiers/,
// else the one shipped with vgrow).
std::unique_ptr<metrics::FeatureExtractor> make_extractor(const std::string& classifier,
                                                          const std::string& inception,
                                                          const std::string& dataset) {
  if (!inception.empty()) {
    metrics::InceptionOptions o;
    o.path = inception;
    return std::make_unique<metrics::InceptionExtractor>(o);
  }
  const auto file = !classifier.empty() ? classifier : metrics::default_classifier_file(dataset);
  return std::make_unique<metrics::ClassifierExtractor>(
      metrics::ClassifierExtractor::from_file(file));
}

struct EvalArgs {
  std::string source, reference, classifier, inception, protocol = "paper";
  int64_t count = 10000, draws = 5, seed = 0, threads = 2;
  SamplerArgs sampler;
};

void eval_images(const EvalArgs& args) {
  set_compute_threads(static_cast<int>(args.threads));
  // Every other setting is the protocol's (vgrow/metrics/protocol.h), the one training uses.
  metrics::ScoreOptions options;
  options.fid_protocol = metrics::parse_fid_protocol(args.protocol);
  options.n = args.count;
  options.fid_draws = args.draws;
  options.seed = static_cast<uint64_t>(args.seed);
  const auto generated_set = images_from(args.source, args.count, args.seed, 32,
                                         args.sampler.resolved(static_cast<uint64_t>(args.seed)));
  const auto reference_source =
      !args.reference.empty() ? args.reference
                              : "dataset:" +
                                    (generated_set.dataset.empty() ? std::string("fashion-mnist")
                                                                   : generated_set.dataset) +
                                    ":train";
  const auto real_set = images_from(reference_source, args.count, args.seed, generated_set.size);
  // The classifier of the data the images are compared with.
  const auto colon = reference_source.find(':', 8);
  auto extractor = make_extractor(
      args.classifier, args.inception,
      reference_source.rfind("dataset:", 0) == 0 ? reference_source.substr(8, colon - 8)
      : generated_set.dataset.empty()            ? std::string("fashion-mnist")
                                                 : generated_set.dataset);
  options.check(generated_set.count, real_set.count);
  const auto generated =
      metrics::generated_features(*extractor, generated_set.count, generated_set.chunks, options);
  metrics::RealReference real{
      metrics::real_features(*extractor, real_set.count, real_set.chunks, options), {}};
  // train-stats: all n generated images against the statistics of the whole reference split
  // (50k vs training set), cached per dataset, size and extractor.
  std::string stats_file;
  if (options.fid_protocol == metrics::FidProtocol::kTrainStats) {
    TORCH_CHECK(reference_source.rfind("dataset:", 0) == 0,
                "--protocol train-stats compares with a dataset split (--reference "
                "dataset:NAME:SPLIT), got '", reference_source, "'");
    const auto key = metrics::reference_stats_key(reference_source.substr(8), "all",
                                                  generated_set.size, 0, *extractor);
    const auto cache = metrics::default_cache_dir();
    real.stats = metrics::cached_reference_stats(
        cache, key, [&] { return metrics::gaussian_stats(real.features); });
    stats_file = metrics::reference_stats_path(cache, key).string();
  }
  const auto scores = metrics::score(generated, real, options);
  nlohmann::ordered_json line;
  line["source"] = args.source;
  if (!generated_set.generator.empty()) line["generator"] = generated_set.generator;
  line["reference"] = reference_source;
  line["protocol"] = metrics::fid_protocol_name(scores.fid_protocol);
  if (!stats_file.empty()) line["reference_stats"] = stats_file;
  line["extractor"] = extractor->id();
  line["n"] = scores.n;
  line["draws"] = scores.draws;
  for (const auto& [key, value] : scores.record()) line[key] = value;
  print_json_line(line);
}

}  // namespace

void add_eval(CLI::App& app) {
  auto args = std::make_shared<EvalArgs>();
  auto* cmd = app.add_subcommand(
      "eval", "Score a generator, a folder of images or a dataset split (FID, KID, IS, P/R)");
  cmd->add_option("source", args->source,
                  "checkpoint file, run folder, image folder, or dataset:NAME:SPLIT")->required();
  cmd->add_option("--reference", args->reference,
                  "real images to compare with (default dataset:<the run's dataset>:train)");
  cmd->add_option("--classifier", args->classifier,
                  "dataset classifier from `vgrow classifier train` (default: yours in "
                  "classifiers/<dataset>.pt, else the one shipped with vgrow)");
  cmd->add_option("--inception", args->inception, "Inception-v3 TorchScript file (never downloaded)");
  cmd->add_option("--protocol", args->protocol,
                  "paper: n generated vs n real, mean and sd over --draws subsamples; "
                  "train-stats: n generated (e.g. 50000) vs the whole reference split's cached "
                  "statistics")
      ->check(CLI::IsMember({"paper", "train-stats"}));
  cmd->add_option("-n,--count", args->count, "images per side (paper: 10000)")->check(CLI::PositiveNumber);
  cmd->add_option("--draws", args->draws, "FID draws, mean and sd reported (paper: 5)")->check(CLI::PositiveNumber);
  cmd->add_option("--seed", args->seed, "seed of the latents and draws");
  cmd->add_option("--threads", args->threads, "CPU threads")->check(CLI::PositiveNumber);
  add_sampler_options(cmd, args->sampler);
  cmd->callback([args] {
    const bool toy_checkpoint = [&] {
      if (args->source.rfind("dataset:", 0) == 0) return false;
      if (std::filesystem::is_directory(args->source) && io::list_checkpoints(args->source).empty()) return false;
      // The stored config says what was trained; no need to build and load G for that.
      const auto file = io::resolve_checkpoint(args->source);
      Config config;
      apply_toml(config, io::read_generator_checkpoint(file).config_toml, file.string());
      return !config.is_image_data();
    }();
    if (!toy_checkpoint) {
      eval_images(*args);
      return;
    }
    set_compute_threads(static_cast<int>(args->threads));
    Sampler sampler(args->source, args->sampler.resolved(static_cast<uint64_t>(args->seed)));
    eval_toy(sampler, std::min<int64_t>(args->count, 5000), args->seed);
  });
}

}  // namespace vgrow::cli
