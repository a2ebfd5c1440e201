// Checkpoint files: the stored config, the generator record (what `vgrow sample` and
// `vgrow eval` read) and a full resume into a small trainer.

#include <c10/util/Exception.h>

#include "temp_input.h"
#include "vgrow/run/config.h"
#include "vgrow/run/experiment.h"
#include "vgrow/run/checkpoint.h"

namespace {

vgrow::Trainer& trainer() {
  static auto made = [] {
    vgrow::Config config;
    // The run behind the seed checkpoints, so that valid seeds load all the way.
    vgrow::apply_toml_file(config, VGROW_FUZZ_DIR "/checkpoint.toml");
    return vgrow::make_trainer(config);
  }();
  return *made;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("checkpoint-000001.pt");
  const auto& path = input.write(data, size);
  try {
    vgrow::io::checkpoint_config(path);
  } catch (const c10::Error&) {
  }
  try {
    vgrow::io::read_generator_checkpoint(path);
  } catch (const c10::Error&) {
  }
  try {
    vgrow::io::load_generator_weights(path, *trainer().generator().ptr());
  } catch (const c10::Error&) {
  }
  try {
    vgrow::io::load_checkpoint(path, trainer());
  } catch (const c10::Error&) {
  }
  return 0;
}
