#pragma once
// Every option of a training run, with its default, in one place. Config files (TOML) and
// `key=value` overrides list only differences; unknown keys are errors.

#include <cstdint>
#include <string>
#include <variant>
#include <utility>
#include <vector>

#include "vgrow/support/optim.h"

namespace vgrow {

// The defaults are the default job: Fashion-MNIST on a 2-core CPU for 15 minutes (see
// docs/default-preset.md for the measurements that chose it). Paper presets set every key.
// What each key means and accepts is declared once, in config.cpp (config_keys()).
struct Config {
  struct Run {
    std::string name;            // run folder suffix; default "<dataset>-<divergence>"
    std::string out_dir = "runs";
    int64_t seed = 0;
    int64_t threads = 2;
    // vgrow, or a GAN baseline on the same nets, data and optimisers: gan (minimax) or
    // gan-ns (non-saturating); see vgrow/core/adversarial.h.
    std::string method = "vgrow";
    std::string device = "auto";
    std::string precision = "fp32";  // of the G and D forwards
    bool loss_scaling = false;       // dynamic loss scaling (always on with fp16)
    bool reproducible = false;       // fp32, bit-identical on any AVX2 CPU (runtime_settings.h)
    bool cuda_graphs = true;         // CUDA: the flow step replayed from captured graphs
    int64_t loops = 100000;       // outer loops; the time limit usually ends a run first
    double minutes = 15.0;        // wall-clock budget, 0 = none
    int64_t log_every = 50;
    int64_t sample_every = 100;
    bool report = true;  // report.html in the run folder, refreshed at each sample interval
    int64_t checkpoint_every = 200;
    int64_t keep_checkpoints = 3;
    int64_t dist_timeout_seconds = 300;  // distributed: how long a rank waits for the others
    std::string on_divergence = "stop";  // NaN/Inf: stop, or roll back to the last checkpoint
    double rollback_factor = 0.5;        // rollback: flow.eta is multiplied by this
    int64_t max_rollbacks = 3;
  } run;
  struct Data {
    std::string dataset = "fashion-mnist";
    std::string path;                       // folder or file; empty = the dataset's default
    std::string target = "8gaussians";      // toy: which 2-D target
    int64_t image_size = 32;
    int64_t limit = 0;  // use only the first N training images (0 = all)
  } data;
  struct Model {
    std::string arch = "dcgan";
    int64_t g_width = 32;
    int64_t d_width = 32;
    int64_t latent_dim = 128;
    int64_t mlp_hidden = 256;
    int64_t mlp_layers = 2;
    bool spectral_norm = true;
    int64_t power_iterations = 1;
    bool fused_resampling = true;  // resnet, dcgan: resampling in its exact cheaper form
    bool channels_last = true;     // resnet, dcgan: G's and D's activations in NHWC
    double ema_decay = 0.0;        // generator EMA, per outer loop; 0 = off
  } model;
  struct Flow {
    std::string divergence = "kl";
    double eta = 1.0;
    int64_t particle_steps = 1;
    int64_t d_steps = 2;
    int64_t pool_batches = 1;
    int64_t batch_size = 64;
    bool clamp = true;  // clamp particles to [-1, 1] (images); off for 2-D data
    double max_weight = 100.0;
    // exact: s(D) as in the paper; relative: s(D) over its mean, in [1/R, R]
    // (R = max_relative_weight); auto: relative for the divergences whose weight grows
    // exponentially in |D| (pearson, reverse-kl, hellinger), exact for the paper's four.
    std::string weighting = "auto";
    double max_relative_weight = 10.0;
    int64_t chunk_size = 256;
  } flow;
  struct Projection {
    std::string schedule = "constant";
    int64_t passes = 1;                 // for "constant"
  } projection;
  struct Optim {
    std::string name = "adam";
    double lr_g = 2e-4;
    double lr_d = 2e-4;
    double alpha = 0.99;
    double beta1 = 0.5;
    double beta2 = 0.999;
    double eps = 1e-8;
    std::vector<int64_t> milestones;
    double gamma = 0.5;
  } optim;
  // Scores computed while training with the dataset classifier (vgrow classifier train).
  struct Eval {
    std::vector<std::string> metrics;  // empty = none
    int64_t every = 500;               // outer loops between evaluations
    double every_minutes = 0;          // also every so many minutes of the run (0 = not)
    int64_t count = 2000;              // generated images per evaluation
    int64_t refine = 0;                // latent refinement steps before scoring (0 = none)
    std::string classifier;  // classifier file; empty = metrics::default_classifier_file
    std::string best;                  // metric that picks best.pt; empty = the first one
  } eval;

  OptimizerConfig g_optimizer() const;
  OptimizerConfig d_optimizer() const;
  bool is_image_data() const;
};

using ConfigValue = std::variant<int64_t*, double*, bool*, std::string*, std::vector<int64_t>*,
                                 std::vector<std::string>*>;

// A key as its one declaration (config.cpp) describes it.
struct ConfigKey {
  std::string key;            // "section.name"
  std::string type;           // integer, number, boolean, string, integer list, string list
  std::string default_value;  // TOML, from Config's member initialisers
  std::string help;
  std::vector<std::string> choices;  // the accepted strings (each list item's); empty = any
  std::string rule;                  // what a number must be, as errors word it; empty = any
  bool resumable = false;            // may differ between a checkpoint and the run resuming it
};

// Every key, in file order.
const std::vector<ConfigKey>& config_keys();

struct ConfigField {
  std::string key;  // "section.name"
  ConfigValue value;
  std::string help;
};

// Every key with a pointer into `config`, in file order.
std::vector<ConfigField> config_fields(Config& config);

// Applies a TOML document (file contents) onto `config`; `origin` names it in errors.
void apply_toml(Config& config, const std::string& toml_text, const std::string& origin);
void apply_toml_file(Config& config, const std::string& path);
// "section.key=value"; the value is TOML (strings may omit their quotes).
void apply_override(Config& config, const std::string& assignment);
// Refuses impossible values and combinations, naming the key and the value.
void validate(const Config& config);
std::string to_toml(Config config);
// Every key with its value as TOML ("flow.eta", "0.5"), in file order.
std::vector<std::pair<std::string, std::string>> config_values(Config config);
// Keys whose values differ between two configs, as "key: a -> b" lines.
std::vector<std::string> config_differences(Config a, Config b);
// The differences a run resumed from a checkpoint written under `stored` may not have.
std::vector<std::string> unresumable_differences(const Config& stored, const Config& requested);
// Whether `key` may change when a run resumes; false for unknown keys.
bool resumable_key(const std::string& key);

}  // namespace vgrow
