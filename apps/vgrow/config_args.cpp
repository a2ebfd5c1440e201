#include <filesystem>
#include <string>
#include <unistd.h>

#include <c10/util/Exception.h>

#include "commands.h"

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
  validate(config);
  return config;
}

}  // namespace vgrow::cli
