// Command-line overrides ("section.key=value", one per line of the input), then validation.
// An accepted config must survive the round trip through to_toml unchanged, as the stored
// config of a run is how it resumes.

#include <c10/util/Exception.h>

#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>

#include "vgrow/run/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::istringstream lines(std::string(reinterpret_cast<const char*>(data), size));
  vgrow::Config config;
  try {
    for (std::string assignment; std::getline(lines, assignment);) {
      vgrow::apply_override(config, assignment);
    }
    vgrow::validate(config);
  } catch (const c10::Error&) {
    return 0;
  }
  vgrow::Config reloaded;
  try {
    vgrow::apply_toml(reloaded, vgrow::to_toml(config), "the stored config");
  } catch (const c10::Error& e) {
    std::fprintf(stderr, "the stored config does not load back: %s\n", e.what_without_backtrace());
    std::abort();
  }
  const auto differences = vgrow::config_differences(config, reloaded);
  if (!differences.empty()) {
    std::fprintf(stderr, "config changed in its round trip through to_toml: %s\n",
                 differences.front().c_str());
    std::abort();
  }
  return 0;
}
