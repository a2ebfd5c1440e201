#include "vgrow/run/config.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <functional>
#include <sstream>
#include <string_view>

#include <torch/torch.h>

#include "vgrow/core/adversarial.h"
#include "vgrow/core/divergence.h"
#include "vgrow/core/projection.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/io/run_folder.h"
#include "vgrow/metrics/protocol.h"
#include "vgrow/support/mixed_precision.h"
#include "run/toml_parse.h"

namespace vgrow {

OptimizerConfig Config::g_optimizer() const {
  return {optim.name, optim.lr_g, optim.alpha, optim.beta1, optim.beta2, optim.eps};
}

OptimizerConfig Config::d_optimizer() const {
  return {optim.name, optim.lr_d, optim.alpha, optim.beta1, optim.beta2, optim.eps};
}

bool Config::is_image_data() const { return data.dataset != "toy" && data.dataset != "csv"; }

namespace {

template <class T>
void need(bool ok, const std::string& key, const T& value, const std::string& rule) {
  TORCH_CHECK(ok, "config key '", key, "' = ", value, ": ", rule);
}

std::string join_or(const std::vector<std::string>& items) {
  std::string out;
  for (size_t i = 0; i < items.size(); ++i) {
    out += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
  }
  return out;
}

std::string render(const ConfigValue& value) {
  std::ostringstream out;
  std::visit(
      [&](auto* v) {
        using T = std::remove_pointer_t<decltype(v)>;
        if constexpr (std::is_same_v<T, std::string>) {
          out << toml::value<std::string>(*v);
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          toml::array arr;
          for (const auto& x : *v) arr.push_back(x);
          out << arr;
        } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
          toml::array arr;
          for (auto x : *v) arr.push_back(x);
          out << arr;
        } else if constexpr (std::is_same_v<T, bool>) {
          out << (*v ? "true" : "false");
        } else if constexpr (std::is_same_v<T, double>) {
          out << toml::value<double>(*v);
        } else {
          out << *v;
        }
      },
      value);
  return out.str();
}

std::string type_name(const ConfigValue& value) {
  constexpr const char* names[] = {"integer", "number",       "boolean",
                                   "string",  "integer list", "string list"};
  return names[value.index()];
}

// Well-formed UTF-8 without NUL: what a TOML string (and so config.toml) can hold.
bool is_valid_utf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    const auto c = static_cast<unsigned char>(text[i]);
    const size_t n = c < 0x80            ? 1
                     : (c >> 5) == 0x6   ? 2
                     : (c >> 4) == 0xE   ? 3
                     : (c >> 3) == 0x1E  ? 4
                                         : 0;
    if (n == 0 || c == 0 || i + n > text.size()) return false;
    uint32_t code = n == 1 ? c : c & (0x7F >> n);
    for (size_t k = 1; k < n; ++k) {
      const auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc >> 6) != 0x2) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    static constexpr uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (code < kMin[n] || (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) return false;
    i += n;
  }
  return true;
}

// One key, declared once: where it lives in Config, what it means, what it accepts and
// whether a resumed run may change it. Type and default come from Config itself.
struct Key {
  Key(std::string key, ConfigValue (*bind)(Config&), std::string help) : field(bind) {
    Config defaults;
    const auto value = field(defaults);
    info.key = std::move(key);
    info.type = type_name(value);
    info.default_value = render(value);
    info.help = std::move(help);
    // An empty default stands for a computed value ("the first of eval.metrics").
    const auto* text = std::get_if<std::string*>(&value);
    empty_ok = text && (*text)->empty();
  }
  // `also`: spellings the library accepts besides its names (aliases, any case).
  Key& choices(std::vector<std::string> names, bool (*also)(const std::string&) = nullptr) {
    info.choices = std::move(names);
    accepts = also;
    return *this;
  }
  Key& check(std::function<bool(double)> ok, std::string rule) {
    number_ok = std::move(ok);
    info.rule = std::move(rule);
    return *this;
  }
  Key& check_text(bool (*ok)(const std::string&), std::string rule) {
    text_ok = ok;
    info.rule = std::move(rule);
    return *this;
  }
  Key& between(int64_t min, int64_t max) {
    return check([min, max](double v) { return v >= min && v <= max; },
                 "must be from " + std::to_string(min) + " to " + std::to_string(max));
  }
  Key& at_least(int64_t min) {
    return check([min](double v) { return v >= min; }, "must be at least " + std::to_string(min));
  }
  Key& positive() {
    return check([](double v) { return v > 0; }, "must be positive");
  }
  Key& resumable() {
    info.resumable = true;
    return *this;
  }

  void check_choice(const std::string& value) const {
    const auto& names = info.choices;
    const bool ok = names.empty() || (empty_ok && value.empty()) ||
                    std::find(names.begin(), names.end(), value) != names.end() ||
                    (accepts && accepts(value));
    need(ok, info.key, value, "must be " + join_or(names));
  }
  void validate(Config& config) const {
    std::visit(
        [&](auto* v) {
          using T = std::remove_pointer_t<decltype(v)>;
          if constexpr (std::is_same_v<T, int64_t> || std::is_same_v<T, double>) {
            const auto x = static_cast<double>(*v);
            need(!number_ok || (std::isfinite(x) && number_ok(x)), info.key, *v, info.rule);
          } else if constexpr (std::is_same_v<T, std::string>) {
            check_choice(*v);
            need(!text_ok || (empty_ok && v->empty()) || text_ok(*v), info.key, *v, info.rule);
          } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
            for (const auto& item : *v) check_choice(item);
          }
        },
        field(config));
  }

  ConfigKey info;
  ConfigValue (*field)(Config&);
  std::function<bool(double)> number_ok;  // numbers: the accepted values (finite always)
  bool (*accepts)(const std::string&) = nullptr;
  bool (*text_ok)(const std::string&) = nullptr;  // strings: the accepted values
  bool empty_ok = false;
};

bool divergence_alias(const std::string& name) {
  try {
    Divergence::from_name(name);
    return true;
  } catch (const c10::Error&) {
    return false;
  }
}

std::vector<std::string> dataset_names() {
  auto names = data::image_dataset_kinds();
  names.insert(names.end(), {"toy", "csv"});
  return names;
}

std::vector<std::string> toy_target_names() {
  std::vector<std::string> names;
  for (const auto& t : data::toy2d_targets()) names.push_back(t.name);
  return names;
}


bool in_open_unit_interval(double v) { return v > 0 && v < 1; }
bool in_unit_interval_without_1(double v) { return v >= 0 && v < 1; }

// KEY(flow, eta, ...) is the key "flow.eta" bound to Config::flow.eta: one spelling for both.
#define KEY(section, name, help) \
  Key(#section "." #name, [](Config& c) -> ConfigValue { return &c.section.name; }, help)

// Every key in file order; to_toml writes them so and --list-keys lists them so.
const std::vector<Key>& schema() {
  static const std::vector<Key> keys{
      // Part of a path, and shown in shell-like advice: a safe file name only.
      KEY(run, name, "run folder suffix (default <dataset>-<divergence>)")
          .check_text(io::is_safe_file_name,
                      "may hold only letters, digits, '-', '_' and '.' (at most 100, not "
                      "starting with '.' or '-')")
          .resumable(),
      KEY(run, out_dir, "folder that holds the numbered run folders").resumable(),
      KEY(run, seed, "seed of every random draw"),
      KEY(run, threads, "CPU threads for LibTorch").at_least(1).resumable(),
      KEY(run, method,
          "vgrow, or a GAN baseline on the same nets and data: gan (minimax), gan-ns "
          "(non-saturating)")
          .choices(training_method_names()),
      KEY(run, device, "where G, D and the particles live (auto: CUDA when LibTorch sees a GPU)")
          .choices({"cpu", "cuda", "auto"})
          .resumable(),
      KEY(run, precision,
          "precision of the G and D forwards (autocast); fp16 needs CUDA, adds loss scaling")
          .choices(precision_names())
          .resumable(),
      KEY(run, reproducible,
          "fp32 bit-identical on every x86-64 CPU with AVX2 for the same run.threads: ATen at "
          "AVX2, OpenBLAS's Haswell kernels, convolutions without oneDNN (slower; "
          "docs/benchmarks.md)")
          .resumable(),
      KEY(run, loss_scaling, "dynamic loss scaling of the D and G losses (always on with fp16)")
          .resumable(),
      KEY(run, cuda_graphs,
          "CUDA: replay the flow step from captured CUDA graphs (no effect on the CPU)")
          .resumable(),
      KEY(run, loops, "outer loops to run").at_least(1).resumable(),
      KEY(run, minutes, "wall-clock budget in minutes (0 = none)").at_least(0).resumable(),
      KEY(run, log_every, "outer loops between progress lines").at_least(1).resumable(),
      KEY(run, sample_every, "outer loops between sample grids/plots").at_least(1).resumable(),
      KEY(run, report, "refresh report.html in the run folder at each sample interval")
          .resumable(),
      KEY(run, checkpoint_every, "outer loops between checkpoints").at_least(1).resumable(),
      KEY(run, keep_checkpoints, "how many recent checkpoints to keep").at_least(1).resumable(),
      KEY(run, dist_timeout_seconds,
          "distributed runs: seconds a rank waits for the others before failing")
          .at_least(1)
          .resumable(),
      KEY(run, on_divergence,
          "on NaN/Inf: stop, or roll back to the last checkpoint with a smaller flow.eta")
          .choices({"stop", "rollback"})
          .resumable(),
      KEY(run, rollback_factor, "rollback: flow.eta is multiplied by this")
          .check(in_open_unit_interval, "must be in (0, 1): the step size shrinks on each rollback")
          .resumable(),
      KEY(run, max_rollbacks, "rollback: how many times before stopping").at_least(0).resumable(),
      KEY(data, dataset, "training data: an image dataset, toy (data.target) or csv (data.path)")
          .choices(dataset_names()),
      KEY(data, path, "dataset folder or CSV file (empty = the dataset's default)"),
      KEY(data, target, "2-D target for dataset = toy").choices(toy_target_names()),
      KEY(data, image_size, "image side in pixels").between(8, 1024),
      KEY(data, limit, "use only the first N training images (0 = all)").at_least(0),
      KEY(model, arch, "G and D networks (resnet is the paper's; mlp also takes 2-D data)")
          .choices({"resnet", "dcgan", "mlp"}),
      // Network sizes are bounded: a shared config or a stored one cannot ask for terabytes.
      KEY(model, g_width, "generator channels (resnet, dcgan)").between(1, 4096),
      KEY(model, d_width, "discriminator channels (resnet, dcgan)").between(1, 4096),
      KEY(model, latent_dim, "dimension of z").between(1, 65536),
      KEY(model, mlp_hidden, "MLP hidden units").between(1, 65536),
      KEY(model, mlp_layers, "MLP hidden layers").between(1, 64),
      KEY(model, spectral_norm, "spectral norm on D (and ResNet G)"),
      KEY(model, power_iterations, "spectral norm power iterations").at_least(1),
      // The same function computed another way, so a resumed run may switch.
      KEY(model, fused_resampling,
          "resnet, dcgan: resampling in its exact cheaper form (resnet D: conv+pool as one 4x4 "
          "stride-2 conv; dcgan G: transposed convs as sub-pixel convs)")
          .resumable(),
      KEY(model, channels_last,
          "resnet, dcgan: G's and D's activations in channels-last (NHWC) layout; the same "
          "function, faster in oneDNN")
          .resumable(),
      KEY(model, ema_decay,
          "generator EMA: after outer loop t, avg = d * avg + (1 - d) * G with d = min(decay, "
          "(1 + t) / (10 + t)); samples, scores and best.pt use avg (0 = off)")
          .check([](double v) { return v >= 0 && v < 1; }, "must be in [0, 1)")
          .resumable(),
      KEY(flow, divergence, "the f-divergence whose gradient flow moves the particles")
          .choices(Divergence::names(), divergence_alias),
      // Step sizes may shrink on resume: a diverged run restarts from its last checkpoint.
      KEY(flow, eta, "particle step size").positive().resumable(),
      KEY(flow, particle_steps, "flow steps per outer loop (nPiter)").at_least(1),
      KEY(flow, d_steps, "D steps before each flow step (nDiter)").at_least(0),
      KEY(flow, pool_batches, "pool size in batches (nPool)").at_least(1),
      KEY(flow, batch_size, "batch size of D and projection steps").at_least(1),
      KEY(flow, clamp, "clamp particles to [-1, 1] (images only)"),
      KEY(flow, max_weight, "cap on s(D), the scale of the flow velocity").positive(),
      KEY(flow, weighting,
          "flow weights: exact s(D) (the paper), relative to their mean in [1/R, R], or auto "
          "(relative for pearson, reverse-kl, hellinger)")
          .choices({"auto", "exact", "relative"}),
      KEY(flow, max_relative_weight, "R, the bound of relative flow weights")
          .check([](double v) { return v >= 1 && std::isfinite(v); }, "must be a number >= 1"),
      KEY(flow, chunk_size, "particles per chunk in the flow step").at_least(1),
      KEY(projection, schedule,
          "projection passes per outer loop: constant (projection.passes) or the paper's")
          .choices(ProjectionSchedule::names()),
      KEY(projection, passes, "passes per loop for schedule = constant").at_least(1),
      KEY(optim, name, "optimizer of G and D").choices({"rmsprop", "adam"}),
      KEY(optim, lr_g, "generator learning rate").positive().resumable(),
      KEY(optim, lr_d, "discriminator learning rate").positive().resumable(),
      KEY(optim, alpha, "RMSprop smoothing constant")
          .check(in_unit_interval_without_1, "must be in [0, 1)"),
      KEY(optim, beta1, "Adam beta1").check(in_unit_interval_without_1, "must be in [0, 1)"),
      KEY(optim, beta2, "Adam beta2").check(in_unit_interval_without_1, "must be in [0, 1)"),
      KEY(optim, eps, "optimizer epsilon").positive(),
      KEY(optim, milestones, "outer loops at which learning rates decay"),
      KEY(optim, gamma, "learning-rate decay factor")
          .check([](double v) { return v > 0 && v <= 1; }, "must be in (0, 1]"),
      KEY(eval, metrics, "scores computed while training (image data)")
          .choices(metrics::score_names())
          .resumable(),
      KEY(eval, every, "outer loops between evaluations").at_least(1).resumable(),
      KEY(eval, every_minutes,
          "also score every so many minutes of the run (0 = by loops only): runs of different "
          "speeds scored at the same times")
          .at_least(0)
          .resumable(),
      KEY(eval, count, "generated images per evaluation")
          .check([](double v) { return v >= 2 && v <= 100000; }, "must be from 2 to 100000")
          .resumable(),
      KEY(eval, refine,
          "score samples refined by K latent-space steps with the current D (eta 0.05, as "
          "vgrow sample --refine K); 0 = G's samples as drawn")
          .check([](double v) { return v >= 0 && v <= 1000; }, "must be from 0 to 1000")
          .resumable(),
      KEY(eval, classifier,
          "dataset classifier file (empty = yours in classifiers/<dataset>.pt, else the one "
          "shipped with vgrow)")
          .resumable(),
      KEY(eval, best, "metric that picks best.pt (empty = the first of eval.metrics)")
          .choices(metrics::score_names())
          .resumable(),
  };
  return keys;
}

#undef KEY

// Rules that tie several keys together; each key's own rule is in its declaration.
void check_combinations(const Config& c) {
  need(!c.run.reproducible || c.run.precision == "fp32", "run.precision", c.run.precision,
       "must be fp32 with run.reproducible = true");
  need(!c.run.reproducible || c.run.device != "cuda", "run.device", c.run.device,
       "must be cpu or auto with run.reproducible = true (it pins CPU kernels)");
  need(c.run.precision != "fp16" || c.run.device != "cpu", "run.precision", c.run.precision,
       "needs a CUDA device (autocast on the CPU computes in bf16 only): use bf16 or fp32 with "
       "run.device = cpu");
  // Only Fashion-MNIST has a default location (Debian's dataset-fashion-mnist).
  need(c.data.dataset == "fashion-mnist" || c.data.dataset == "toy" || !c.data.path.empty(),
       "data.path", "\"\"", "must name the file or folder for dataset = " + c.data.dataset);
  need(c.model.arch == "mlp" || c.is_image_data(), "model.arch", c.model.arch,
       "needs image data, but data.dataset = " + c.data.dataset + " is 2-D: use model.arch = mlp");
  const auto s = c.data.image_size;
  need(c.model.arch == "mlp" || (s >= 16 && s <= 256 && (s & (s - 1)) == 0), "data.image_size", s,
       "must be a power of two from 16 to 256 for the " + c.model.arch + " models");
  need(!c.flow.clamp || c.is_image_data(), "flow.clamp", "true",
       "clamps particles to [-1, 1], which only makes sense for images; set flow.clamp = false");
  // A pool that would not fit in memory is refused before anything is allocated.
  const double per_sample = c.is_image_data() ? 3.0 * s * s : 2.0;
  const double pool_bytes = 4.0 * per_sample * static_cast<double>(c.flow.pool_batches) *
                            static_cast<double>(c.flow.batch_size);
  need(pool_bytes <= 64.0 * (1ull << 30), "flow.pool_batches x flow.batch_size",
       std::to_string(c.flow.pool_batches) + " x " + std::to_string(c.flow.batch_size),
       "the particle pool would need " + std::to_string(pool_bytes / (1ull << 30)) +
           " GiB (limit 64 GiB)");
  need(c.eval.metrics.empty() || c.is_image_data(), "eval.metrics",
       c.eval.metrics.empty() ? std::string() : c.eval.metrics.front(),
       "needs image data (2-D runs are scored after training)");
  need(c.eval.best.empty() || std::find(c.eval.metrics.begin(), c.eval.metrics.end(),
                                        c.eval.best) != c.eval.metrics.end(),
       "eval.best", c.eval.best, "must be one of eval.metrics");
}

}  // namespace

const std::vector<ConfigKey>& config_keys() {
  static const std::vector<ConfigKey> keys = [] {
    std::vector<ConfigKey> out;
    for (const auto& k : schema()) out.push_back(k.info);
    return out;
  }();
  return keys;
}

std::vector<ConfigField> config_fields(Config& c) {
  std::vector<ConfigField> out;
  for (const auto& k : schema()) out.push_back({k.info.key, k.field(c), k.info.help});
  return out;
}

namespace {

size_t edit_distance(const std::string& a, const std::string& b) {
  std::vector<size_t> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    size_t diagonal = row[0];
    row[0] = i;
    for (size_t j = 1; j <= b.size(); ++j) {
      const size_t substituted = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      diagonal = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, substituted});
    }
  }
  return row[b.size()];
}

ConfigField& find_field(std::vector<ConfigField>& fields, const std::string& key,
                        const std::string& origin) {
  const ConfigField* closest = nullptr;
  size_t distance = 3;  // suggest only typos: at most two edits away
  for (auto& f : fields) {
    if (f.key == key) return f;
    const auto d = edit_distance(f.key, key);
    if (d < distance) {
      closest = &f;
      distance = d;
    }
  }
  TORCH_CHECK(false, "unknown config key '", key, "' in ", origin,
              closest ? "; did you mean '" + closest->key + "'?" : std::string());
}

// "run, data, ...": the sections in file order.
std::string section_names() {
  std::string out, last;
  for (const auto& k : config_keys()) {
    const auto section = k.key.substr(0, k.key.find('.'));
    if (section != last) out += (out.empty() ? "" : ", ") + section;
    last = section;
  }
  return out;
}

void assign(ConfigField& field, const toml::node& node, const std::string& origin) {
  auto fail = [&](const char* want) {
    std::ostringstream got;
    node.visit([&](const auto& v) { got << v; });
    TORCH_CHECK(false, "config key '", field.key, "' in ", origin, " needs ", want, ", got ",
                got.str());
  };
  std::visit(
      [&](auto* target) {
        using T = std::remove_pointer_t<decltype(target)>;
        if constexpr (std::is_same_v<T, int64_t>) {
          if (auto v = node.value_exact<int64_t>()) *target = *v;
          else fail("an integer");
        } else if constexpr (std::is_same_v<T, double>) {
          if (auto v = node.value<double>()) *target = *v;
          else fail("a number");
        } else if constexpr (std::is_same_v<T, bool>) {
          if (auto v = node.value_exact<bool>()) *target = *v;
          else fail("true or false");
        } else if constexpr (std::is_same_v<T, std::string>) {
          if (auto v = node.value_exact<std::string>()) *target = *v;
          else fail("a string");
        } else if constexpr (std::is_same_v<T, std::vector<std::string>>) {
          const auto* arr = node.as_array();
          if (!arr) fail("an array of strings");
          std::vector<std::string> out;
          for (const auto& item : *arr) {
            auto v = item.value_exact<std::string>();
            if (!v) fail("an array of strings");
            out.push_back(*v);
          }
          *target = out;
        } else {
          const auto* arr = node.as_array();
          if (!arr) fail("an array of integers");
          std::vector<int64_t> out;
          for (const auto& item : *arr) {
            auto v = item.value_exact<int64_t>();
            if (!v) fail("an array of integers");
            out.push_back(*v);
          }
          *target = out;
        }
      },
      field.value);
}

toml::table parse_or_throw(const std::string& text, const std::string& origin) {
  try {
    return parse_toml(text, origin);
  } catch (const toml::parse_error& e) {
    std::ostringstream msg;
    msg << origin << ":" << e.source().begin.line << ": " << e.description();
    TORCH_CHECK(false, "cannot parse config ", msg.str());
  }
}

}  // namespace

void apply_toml(Config& config, const std::string& text, const std::string& origin) {
  const auto table = parse_or_throw(text, origin);
  auto fields = config_fields(config);
  for (const auto& [section, node] : table) {
    const auto* sub = node.as_table();
    TORCH_CHECK(sub, "config ", origin, ": top-level key '", section.str(),
                "' must be a [section] (", section_names(), ")");
    for (const auto& [key, value] : *sub) {
      assign(find_field(fields, std::string(section.str()) + "." + std::string(key.str()), origin),
             value, origin);
    }
  }
}

void apply_toml_file(Config& config, const std::string& path) {
  std::ifstream in(path);
  TORCH_CHECK(in.good(), "cannot open config file '", path, "'");
  std::stringstream text;
  text << in.rdbuf();
  apply_toml(config, text.str(), path);
}

void apply_override(Config& config, const std::string& assignment) {
  const auto eq = assignment.find('=');
  TORCH_CHECK(eq != std::string::npos && eq > 0,
              "override '", assignment, "' must look like section.key=value");
  const auto key = assignment.substr(0, eq);
  const auto raw = assignment.substr(eq + 1);
  // A bare value becomes a TOML string as it is: it must be text config.toml can hold.
  TORCH_CHECK(is_valid_utf8(raw), "override of '", key,
              "': the value is not valid UTF-8 text");
  auto fields = config_fields(config);
  auto& field = find_field(fields, key, "the command line");
  toml::table parsed;
  try {
    parsed = parse_toml("v = " + raw, "the command line");
  } catch (const toml::parse_error&) {
    // A bare word: take it as a string, so `flow.divergence=js` needs no quotes.
    parsed = toml::table{{"v", raw}};
  }
  if (std::holds_alternative<std::string*>(field.value) && !parsed["v"].is_string()) {
    parsed = toml::table{{"v", raw}};
  }
  // String lists may be written without quotes, as the shell leaves them: [fid,kid] or fid.
  if (std::holds_alternative<std::vector<std::string>*>(field.value) && !parsed["v"].is_array()) {
    std::string body = raw;
    if (body.size() >= 2 && body.front() == '[' && body.back() == ']') {
      body = body.substr(1, body.size() - 2);
    }
    toml::array items;
    std::stringstream parts(body);
    for (std::string item; std::getline(parts, item, ',');) {
      const auto b = item.find_first_not_of(" \t\"'"), e = item.find_last_not_of(" \t\"'");
      if (b != std::string::npos) items.push_back(item.substr(b, e - b + 1));
    }
    parsed = toml::table{{"v", items}};
  }
  assign(field, *parsed.get("v"), "the command line");
}

void validate(const Config& config) {
  Config c = config;
  for (const auto& k : schema()) k.validate(c);
  check_combinations(config);
}

std::string to_toml(Config config) {
  std::ostringstream out;
  std::string section;
  for (const auto& f : config_fields(config)) {
    const auto dot = f.key.find('.');
    const auto sec = f.key.substr(0, dot);
    if (sec != section) {
      out << (section.empty() ? "" : "\n") << "[" << sec << "]\n";
      section = sec;
    }
    out << f.key.substr(dot + 1) << " = " << render(f.value) << "\n";
  }
  return out.str();
}

std::vector<std::pair<std::string, std::string>> config_values(Config config) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& f : config_fields(config)) out.emplace_back(f.key, render(f.value));
  return out;
}

namespace {

std::vector<std::string> differences(Config a, Config b, bool resumable_too) {
  std::vector<std::string> out;
  for (const auto& k : schema()) {
    if (k.info.resumable && !resumable_too) continue;
    const auto va = render(k.field(a)), vb = render(k.field(b));
    if (va != vb) out.push_back(k.info.key + ": " + va + " -> " + vb);
  }
  return out;
}

}  // namespace

std::vector<std::string> config_differences(Config a, Config b) {
  return differences(std::move(a), std::move(b), true);
}

std::vector<std::string> unresumable_differences(const Config& stored, const Config& requested) {
  return differences(stored, requested, false);
}

bool resumable_key(const std::string& key) {
  for (const auto& k : config_keys()) {
    if (k.key == key) return k.resumable;
  }
  return false;
}

}  // namespace vgrow
