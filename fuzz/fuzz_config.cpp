// Config files (TOML). A document that is accepted and validates must survive the round trip
// through to_toml unchanged, since that is how the resolved config is stored and resumed.

#include <c10/util/Exception.h>

#include <cstdio>
#include <string>

#include "vgrow/run/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  vgrow::Config config;
  try {
    vgrow::apply_toml(config, text, "fuzz.toml");
    vgrow::validate(config);
  } catch (const c10::Error&) {
    return 0;
  }
  const auto stored = vgrow::to_toml(config);
  vgrow::Config reloaded;
  vgrow::apply_toml(reloaded, stored, "the stored config");
  const auto differences = vgrow::config_differences(config, reloaded);
  if (!differences.empty()) {
    std::fprintf(stderr, "config changed in its round trip through to_toml: %s\n",
                 differences.front().c_str());
    std::abort();
  }
  return 0;
}
