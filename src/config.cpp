#include "vgrow/config.h"

#include <cmath>
#include <fstream>
#include <sstream>

#include <torch/torch.h>

#include "vgrow/data/toy2d.h"
#include "vgrow/divergence.h"
#include "vgrow/projection.h"
#include "vgrow/toml_parse.h"

namespace vgrow {

OptimizerConfig Config::g_optimizer() const {
  return {optim.name, optim.lr_g, optim.alpha, optim.beta1, optim.beta2, optim.eps};
}

OptimizerConfig Config::d_optimizer() const {
  return {optim.name, optim.lr_d, optim.alpha, optim.beta1, optim.beta2, optim.eps};
}

bool Config::is_image_data() const { return data.dataset != "toy" && data.dataset != "csv"; }

std::vector<ConfigField> config_fields(Config& c) {
  return {
      {"run.name", &c.run.name, "run folder suffix (default <dataset>-<divergence>)"},
      {"run.out_dir", &c.run.out_dir, "folder that holds the numbered run folders"},
      {"run.seed", &c.run.seed, "seed of every random draw"},
      {"run.threads", &c.run.threads, "CPU threads for LibTorch"},
      {"run.device", &c.run.device, "cpu, cuda or auto"},
      {"run.precision", &c.run.precision,
       "fp32, bf16 (G and D forwards under autocast) or fp16 (CUDA, with loss scaling)"},
      {"run.loss_scaling", &c.run.loss_scaling,
       "dynamic loss scaling of the D and G losses (always on with fp16)"},
      {"run.cuda_graphs", &c.run.cuda_graphs,
       "CUDA: replay the flow step from captured CUDA graphs (no effect on the CPU)"},
      {"run.loops", &c.run.loops, "outer loops to run"},
      {"run.minutes", &c.run.minutes, "wall-clock budget in minutes (0 = none)"},
      {"run.log_every", &c.run.log_every, "outer loops between progress lines"},
      {"run.sample_every", &c.run.sample_every, "outer loops between sample grids/plots"},
      {"run.checkpoint_every", &c.run.checkpoint_every, "outer loops between checkpoints"},
      {"run.keep_checkpoints", &c.run.keep_checkpoints, "how many recent checkpoints to keep"},
      {"run.dist_timeout_seconds", &c.run.dist_timeout_seconds,
       "distributed runs: seconds a rank waits for the others before failing"},
      {"run.on_divergence", &c.run.on_divergence,
       "on NaN/Inf: stop, or rollback to the last checkpoint with a smaller flow.eta"},
      {"run.rollback_factor", &c.run.rollback_factor, "rollback: flow.eta is multiplied by this"},
      {"run.max_rollbacks", &c.run.max_rollbacks, "rollback: how many times before stopping"},
      {"data.dataset", &c.data.dataset, "fashion-mnist, mnist, cifar10, folder, toy or csv"},
      {"data.path", &c.data.path, "dataset folder or CSV file (empty = the default)"},
      {"data.target", &c.data.target, "2-D target for dataset = toy"},
      {"data.image_size", &c.data.image_size, "image side in pixels"},
      {"data.limit", &c.data.limit, "use only the first N training images (0 = all)"},
      {"model.arch", &c.model.arch, "resnet (the paper), dcgan or mlp"},
      {"model.g_width", &c.model.g_width, "generator channels (resnet, dcgan)"},
      {"model.d_width", &c.model.d_width, "discriminator channels (resnet, dcgan)"},
      {"model.latent_dim", &c.model.latent_dim, "dimension of z"},
      {"model.mlp_hidden", &c.model.mlp_hidden, "MLP hidden units"},
      {"model.mlp_layers", &c.model.mlp_layers, "MLP hidden layers"},
      {"model.spectral_norm", &c.model.spectral_norm, "spectral norm on D (and ResNet G)"},
      {"model.power_iterations", &c.model.power_iterations, "spectral norm power iterations"},
      {"model.fused_resampling", &c.model.fused_resampling,
       "resnet: resampling in its exact cheaper form (D: conv+pool as one 4x4 stride-2 conv)"},
      {"flow.divergence", &c.flow.divergence, "kl, js, logd, jeffreys, pearson, reverse-kl, hellinger"},
      {"flow.eta", &c.flow.eta, "particle step size"},
      {"flow.particle_steps", &c.flow.particle_steps, "flow steps per outer loop (nPiter)"},
      {"flow.d_steps", &c.flow.d_steps, "D steps before each flow step (nDiter)"},
      {"flow.pool_batches", &c.flow.pool_batches, "pool size in batches (nPool)"},
      {"flow.batch_size", &c.flow.batch_size, "batch size of D and projection steps"},
      {"flow.clamp", &c.flow.clamp, "clamp particles to [-1, 1]"},
      {"flow.max_weight", &c.flow.max_weight, "cap on the particle weight s(D)"},
      {"flow.chunk_size", &c.flow.chunk_size, "particles per chunk in the flow step"},
      {"projection.schedule", &c.projection.schedule, "constant, paper-mnist or paper-cifar10"},
      {"projection.passes", &c.projection.passes, "passes per loop for schedule = constant"},
      {"optim.name", &c.optim.name, "rmsprop or adam"},
      {"optim.lr_g", &c.optim.lr_g, "generator learning rate"},
      {"optim.lr_d", &c.optim.lr_d, "discriminator learning rate"},
      {"optim.alpha", &c.optim.alpha, "RMSprop smoothing constant"},
      {"optim.beta1", &c.optim.beta1, "Adam beta1"},
      {"optim.beta2", &c.optim.beta2, "Adam beta2"},
      {"optim.eps", &c.optim.eps, "optimizer epsilon"},
      {"optim.milestones", &c.optim.milestones, "outer loops at which learning rates decay"},
      {"optim.gamma", &c.optim.gamma, "learning-rate decay factor"},
      {"eval.metrics", &c.eval.metrics, "scores while training: fid, kid, is, precision, recall"},
      {"eval.every", &c.eval.every, "outer loops between evaluations"},
      {"eval.count", &c.eval.count, "generated images per evaluation"},
      {"eval.classifier", &c.eval.classifier,
       "dataset classifier file (empty = classifiers/<dataset>.pt)"},
      {"eval.best", &c.eval.best, "metric that picks best.pt (empty = the first of eval.metrics)"},
  };
}

namespace {

ConfigField& find_field(std::vector<ConfigField>& fields, const std::string& key,
                        const std::string& origin) {
  for (auto& f : fields) {
    if (f.key == key) return f;
  }
  TORCH_CHECK(false, "unknown config key '", key, "' in ", origin,
              " (run `vgrow train --list-keys` for the known keys)");
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
                "' must be a [section] (run, data, model, flow, projection, optim, eval)");
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

void validate(const Config& c) {
  auto need = [](bool ok, const std::string& key, const auto& value, const std::string& rule) {
    TORCH_CHECK(ok, "config key '", key, "' = ", value, ": ", rule);
  };
  need(c.run.threads >= 1, "run.threads", c.run.threads, "must be at least 1");
  need(c.run.device == "cpu" || c.run.device == "cuda" || c.run.device == "auto", "run.device",
       c.run.device, "must be cpu, cuda or auto");
  need(c.run.precision == "fp32" || c.run.precision == "bf16" || c.run.precision == "fp16",
       "run.precision", c.run.precision, "must be fp32, bf16 or fp16");
  need(c.run.precision != "fp16" || c.run.device != "cpu", "run.precision", c.run.precision,
       "needs a CUDA device (autocast on the CPU computes in bf16 only): use bf16 or fp32 with "
       "run.device = cpu");
  need(c.run.loops >= 1, "run.loops", c.run.loops, "must be at least 1");
  need(c.run.minutes >= 0 && std::isfinite(c.run.minutes), "run.minutes", c.run.minutes,
       "must be >= 0");
  need(c.run.log_every >= 1, "run.log_every", c.run.log_every, "must be at least 1");
  need(c.run.sample_every >= 1, "run.sample_every", c.run.sample_every, "must be at least 1");
  need(c.run.checkpoint_every >= 1, "run.checkpoint_every", c.run.checkpoint_every,
       "must be at least 1");
  need(c.run.keep_checkpoints >= 1, "run.keep_checkpoints", c.run.keep_checkpoints,
       "must be at least 1");
  need(c.run.dist_timeout_seconds >= 1, "run.dist_timeout_seconds", c.run.dist_timeout_seconds,
       "must be at least 1");
  const std::vector<std::string> datasets{"fashion-mnist", "mnist", "cifar10", "folder", "toy", "csv"};
  need(std::find(datasets.begin(), datasets.end(), c.data.dataset) != datasets.end(),
       "data.dataset", c.data.dataset, "must be fashion-mnist, mnist, cifar10, folder, toy or csv");
  need(c.data.limit >= 0, "data.limit", c.data.limit, "must be >= 0");
  if (c.data.dataset == "toy") {
    bool known = false;
    for (const auto& t : data::toy2d_targets()) known = known || t.name == c.data.target;
    need(known, "data.target", c.data.target, "is not a known 2-D target (see `vgrow targets`)");
  }
  // Only Fashion-MNIST has a default location (Debian's dataset-fashion-mnist).
  need(c.data.dataset == "fashion-mnist" || c.data.dataset == "toy" || !c.data.path.empty(),
       "data.path", "\"\"", "must name the file or folder for dataset = " + c.data.dataset);
  need(c.model.arch == "resnet" || c.model.arch == "dcgan" || c.model.arch == "mlp",
       "model.arch", c.model.arch, "must be resnet, dcgan or mlp");
  need(c.model.arch == "mlp" || c.is_image_data(), "model.arch", c.model.arch,
       "needs image data, but data.dataset = " + c.data.dataset + " is 2-D: use model.arch = mlp");
  if (c.model.arch != "mlp") {
    const auto s = c.data.image_size;
    need(s >= 16 && s <= 256 && (s & (s - 1)) == 0, "data.image_size", s,
         "must be a power of two from 16 to 256 for the " + c.model.arch + " models");
  }
  need(c.data.image_size >= 8, "data.image_size", c.data.image_size, "must be at least 8");
  need(c.model.g_width >= 1 && c.model.d_width >= 1, "model.g_width/d_width",
       std::to_string(c.model.g_width) + "/" + std::to_string(c.model.d_width), "must be >= 1");
  need(c.model.latent_dim >= 1, "model.latent_dim", c.model.latent_dim, "must be at least 1");
  need(c.model.mlp_hidden >= 1 && c.model.mlp_layers >= 1, "model.mlp_hidden/mlp_layers",
       std::to_string(c.model.mlp_hidden) + "/" + std::to_string(c.model.mlp_layers), "must be >= 1");
  need(c.model.power_iterations >= 1, "model.power_iterations", c.model.power_iterations,
       "must be at least 1");
  Divergence::from_name(c.flow.divergence);
  need(c.flow.eta > 0 && std::isfinite(c.flow.eta), "flow.eta", c.flow.eta,
       "the particle step size must be positive");
  need(c.flow.particle_steps >= 1, "flow.particle_steps", c.flow.particle_steps, "must be >= 1");
  need(c.flow.d_steps >= 0, "flow.d_steps", c.flow.d_steps, "must be >= 0");
  need(c.flow.pool_batches >= 1, "flow.pool_batches", c.flow.pool_batches, "must be >= 1");
  need(c.flow.batch_size >= 1, "flow.batch_size", c.flow.batch_size, "must be >= 1");
  need(c.flow.chunk_size >= 1, "flow.chunk_size", c.flow.chunk_size, "must be >= 1");
  need(c.flow.max_weight > 0, "flow.max_weight", c.flow.max_weight, "must be positive");
  need(!c.flow.clamp || c.is_image_data(), "flow.clamp", "true",
       "clamps particles to [-1, 1], which only makes sense for images; set flow.clamp = false");
  // A pool that would not fit in memory is refused before anything is allocated.
  const double per_sample = c.is_image_data() ? 3.0 * c.data.image_size * c.data.image_size : 2.0;
  const double pool_bytes = 4.0 * per_sample * static_cast<double>(c.flow.pool_batches) *
                            static_cast<double>(c.flow.batch_size);
  need(pool_bytes <= 64.0 * (1ull << 30), "flow.pool_batches x flow.batch_size",
       std::to_string(c.flow.pool_batches) + " x " + std::to_string(c.flow.batch_size),
       "the particle pool would need " + std::to_string(pool_bytes / (1ull << 30)) +
           " GiB (limit 64 GiB)");
  ProjectionSchedule::from_name(c.projection.schedule, std::max<int64_t>(c.projection.passes, 1));
  need(c.projection.passes >= 1, "projection.passes", c.projection.passes, "must be >= 1");
  need(c.optim.name == "rmsprop" || c.optim.name == "adam", "optim.name", c.optim.name,
       "must be rmsprop or adam");
  need(c.optim.lr_g > 0 && c.optim.lr_d > 0, "optim.lr_g/lr_d",
       std::to_string(c.optim.lr_g) + "/" + std::to_string(c.optim.lr_d), "must be positive");
  need(c.optim.gamma > 0 && c.optim.gamma <= 1, "optim.gamma", c.optim.gamma,
       "must be in (0, 1]");
  need(c.optim.beta1 >= 0 && c.optim.beta1 < 1 && c.optim.beta2 >= 0 && c.optim.beta2 < 1,
       "optim.beta1/beta2", std::to_string(c.optim.beta1) + "/" + std::to_string(c.optim.beta2),
       "must be in [0, 1)");
  need(c.run.on_divergence == "stop" || c.run.on_divergence == "rollback", "run.on_divergence",
       c.run.on_divergence, "must be stop or rollback");
  need(c.run.rollback_factor > 0 && c.run.rollback_factor < 1, "run.rollback_factor",
       c.run.rollback_factor, "must be in (0, 1): the step size shrinks on each rollback");
  need(c.run.max_rollbacks >= 0, "run.max_rollbacks", c.run.max_rollbacks, "must be >= 0");
  const std::vector<std::string> metrics{"fid", "kid", "is", "precision", "recall"};
  for (const auto& m : c.eval.metrics) {
    need(std::find(metrics.begin(), metrics.end(), m) != metrics.end(), "eval.metrics", m,
         "is not a metric: use fid, kid, is, precision or recall");
  }
  need(c.eval.metrics.empty() || c.is_image_data(), "eval.metrics",
       c.eval.metrics.empty() ? std::string() : c.eval.metrics.front(),
       "needs image data (2-D runs are scored by `vgrow eval`)");
  need(c.eval.best.empty() || std::find(c.eval.metrics.begin(), c.eval.metrics.end(),
                                        c.eval.best) != c.eval.metrics.end(),
       "eval.best", c.eval.best, "must be one of eval.metrics");
  need(c.eval.every >= 1, "eval.every", c.eval.every, "must be at least 1");
  need(c.eval.count >= 2 && c.eval.count <= 100000, "eval.count", c.eval.count,
       "must be from 2 to 100000");
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

std::vector<std::string> config_differences(Config a, Config b) {
  std::vector<std::string> out;
  auto fa = config_fields(a);
  auto fb = config_fields(b);
  for (size_t i = 0; i < fa.size(); ++i) {
    const auto va = render(fa[i].value), vb = render(fb[i].value);
    if (va != vb) out.push_back(fa[i].key + ": " + va + " -> " + vb);
  }
  return out;
}

}  // namespace vgrow
