#pragma once
// Checkpoints: the whole trainer state plus the resolved config, written atomically
// (temp file + rename), so a crash mid-write never destroys the last good one.

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "vgrow/core/trainer.h"

namespace vgrow::io {

// Writes `<dir>/checkpoint-<loop>.pt` and removes all but the newest `keep`.
std::filesystem::path save_checkpoint(const std::filesystem::path& dir, const Trainer& trainer,
                                      const std::string& config_toml, int64_t keep);
// Writes the same content to exactly `file` (e.g. best.pt), atomically, outside the rotation.
void save_checkpoint_file(const std::filesystem::path& file, const Trainer& trainer,
                          const std::string& config_toml);
void load_checkpoint(const std::filesystem::path& file, Trainer& trainer);
// The resolved config stored in a checkpoint.
std::string checkpoint_config(const std::filesystem::path& file);
// The loop number of a file named exactly checkpoint-<digits>.pt (vgrow's own); none for any
// other name, such as a user's checkpoint-000200-good.pt.
std::optional<uint64_t> checkpoint_number(const std::filesystem::path& file);
// vgrow's checkpoints in `dir`, by loop number, oldest first. Rotation deletes only these.
std::vector<std::filesystem::path> list_checkpoints(const std::filesystem::path& dir);
// The newest checkpoint that opens cleanly; a damaged newer one is skipped with a warning
// naming it. An error naming the folder when none is usable.
std::filesystem::path newest_readable_checkpoint(const std::filesystem::path& run_dir);
// The checkpoint a resume of `run_dir` continues from: newest_readable_checkpoint.
std::filesystem::path resume_checkpoint(const std::filesystem::path& run_dir);

}  // namespace vgrow::io

namespace vgrow::io {

// The generator alone, for sampling: its config, sample shape and weights.
struct GeneratorCheckpoint {
  std::string config_toml;
  std::vector<int64_t> sample_shape;
  int64_t loop = 0;
};
// Loads G's weights from `file` (a checkpoint, or a run folder: its newest checkpoint)
// into the module `make` builds from the stored config and shape.
std::filesystem::path resolve_checkpoint(const std::filesystem::path& file_or_run_dir);
GeneratorCheckpoint read_generator_checkpoint(const std::filesystem::path& file);
// `average`: the generator EMA's weights when the checkpoint holds them; returns whether it
// loaded those.
bool load_generator_weights(const std::filesystem::path& file, torch::nn::Module& generator,
                            bool average = false);
// D's weights, for refinement at sampling time; a checkpoint without them is refused by name.
void load_discriminator_weights(const std::filesystem::path& file, torch::nn::Module& discriminator);

}  // namespace vgrow::io
