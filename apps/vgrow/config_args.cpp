#include <algorithm>
#include <filesystem>
#include <string>
#include <unistd.h>

#include <c10/util/Exception.h>

#include "commands.h"
#include "vgrow/metrics/classifier.h"

namespace vgrow::cli {
namespace fs = std::filesystem;

std::string config_dir() {
  if (const char* env = std::getenv("VGROW_CONFIG_DIR")) return env;
  // Installed layout first (<prefix>/bin/vgrow -> <prefix>/share/vgrow/configs), then the source tree.
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    const auto installed = exe.parent_path().parent_path() / "share" / "vgrow" / "configs";
    if (fs::is_directory(installed)) return installed.string();
  }
  return VGROW_CONFIG_DIR;
}

namespace {

// The library names an unknown key; the CLI says where the known ones are listed.
template <class Apply>
void with_key_list_hint(const Apply& apply) {
  try {
    apply();
  } catch (const c10::Error& e) {
    const std::string message = e.what_without_backtrace();
    if (message.rfind("unknown config key", 0) != 0) throw;
    TORCH_CHECK(false, message, " (`vgrow train --list-keys` lists every key)");
  }
}

}  // namespace

Config resolve_config(const std::vector<std::string>& args) {
  Config config;
  size_t first_override = 0;
  if (!args.empty() && args[0].find('=') == std::string::npos) {
    fs::path file = args[0];
    if (!fs::exists(file)) {
      file = fs::path(config_dir()) / (args[0] + ".toml");
      TORCH_CHECK(fs::exists(file), "'", args[0], "' is neither a config file nor a preset in ",
                  config_dir());
    }
    with_key_list_hint([&] { apply_toml_file(config, file.string()); });
    first_override = 1;
  }
  for (size_t i = first_override; i < args.size(); ++i) {
    with_key_list_hint([&] { apply_override(config, args[i]); });
  }
  // The default job (no preset or file) scores while training when a classifier for its data
  // is at hand: it costs a few per cent of the run (docs/evaluation.md).
  if (first_override == 0 && !overrides_key(args, "eval.metrics") && config.is_image_data() &&
      (!config.eval.classifier.empty() ||
       fs::is_regular_file(metrics::default_classifier_file(config.data.dataset)))) {
    config.eval.metrics = default_job_metrics();
  }
  validate(config);
  return config;
}

bool overrides_key(const std::vector<std::string>& args, std::string_view key) {
  return std::any_of(args.begin(), args.end(), [&](const std::string& arg) {
    const auto eq = arg.find('=');
    if (eq == std::string::npos) return false;
    std::string_view name(arg.data(), eq);
    while (!name.empty() && name.front() == ' ') name.remove_prefix(1);
    while (!name.empty() && name.back() == ' ') name.remove_suffix(1);
    return name == key;
  });
}

std::vector<std::string> default_job_metrics() { return {"fid", "kid", "is", "precision", "recall"}; }

}  // namespace vgrow::cli
