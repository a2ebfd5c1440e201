#include "vgrow/run/checkpoint.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <optional>
#include <string_view>

#include <torch/torch.h>

#include "vgrow/io/atomic_file.h"
#include "vgrow/io/zip_check.h"

namespace vgrow::io {
namespace fs = std::filesystem;

namespace {

torch::Tensor string_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

[[noreturn]] void unreadable(const fs::path& file, const std::string& why) {
  TORCH_CHECK(false, "checkpoint '", file.string(), "' is not a readable vgrow checkpoint: ", why);
}

// Runs `read` on the checkpoint `file`. A damaged or foreign file makes LibTorch throw more
// than c10::Error (TorchScript's ErrorReport, std::runtime_error from the zip reader); each
// becomes one error naming the file.
template <typename Read>
void reading(const fs::path& file, Read&& read) {
  try {
    read();
  } catch (const c10::Error& e) {
    unreadable(file, e.what_without_backtrace());
  } catch (const std::exception& e) {
    unreadable(file, e.what());
  }
}

torch::serialize::InputArchive open_archive(const fs::path& file) {
  TORCH_CHECK(fs::exists(file), "checkpoint '", file.string(), "' does not exist");
  verify_zip(file, "checkpoint '" + file.string() + "'");
  torch::serialize::InputArchive archive;
  reading(file, [&] { archive.load_from(file.string()); });
  return archive;
}

std::string tensor_string(const fs::path& file, const torch::Tensor& t, const char* key) {
  if (!(t.defined() && t.scalar_type() == torch::kUInt8 && t.dim() == 1)) {
    unreadable(file, c10::str("'", key, "' is not a byte string"));
  }
  const auto bytes = t.contiguous();
  return std::string(static_cast<const char*>(bytes.data_ptr()), static_cast<size_t>(bytes.numel()));
}

int64_t tensor_int(const fs::path& file, const torch::Tensor& t, const char* key) {
  if (!(t.defined() && t.numel() == 1 && !t.is_floating_point() && !t.is_complex())) {
    unreadable(file, c10::str("'", key, "' is not an integer"));
  }
  return t.item<int64_t>();
}

}  // namespace

fs::path save_checkpoint(const fs::path& dir, const Trainer& trainer,
                         const std::string& config_toml, int64_t keep) {
  char name[64];
  std::snprintf(name, sizeof(name), "checkpoint-%06lld.pt", static_cast<long long>(trainer.loop()));
  const auto file = dir / name;
  save_checkpoint_file(file, trainer, config_toml);
  auto all = list_checkpoints(dir);
  for (size_t i = 0; i + static_cast<size_t>(keep) < all.size(); ++i) fs::remove(all[i]);
  return file;
}

void save_checkpoint_file(const fs::path& file, const Trainer& trainer,
                          const std::string& config_toml) {
  torch::serialize::OutputArchive archive;
  trainer.save(archive);
  archive.write("config", string_tensor(config_toml));
  // Serialised in memory and written by write_bytes_atomically, which checks every write:
  // LibTorch's own file writer does not check the final flush and close of its stream.
  std::string bytes;
  archive.save_to([&](const void* data, size_t size) {
    bytes.append(static_cast<const char*>(data), size);
    return size;
  });
  write_bytes_atomically(file, bytes);
}

void load_checkpoint(const fs::path& file, Trainer& trainer) {
  auto archive = open_archive(file);
  reading(file, [&] { trainer.load(archive); });
}

std::string checkpoint_config(const fs::path& file) {
  auto archive = open_archive(file);
  torch::Tensor text;
  reading(file, [&] { archive.read("config", text); });
  return tensor_string(file, text, "config");
}

fs::path resolve_checkpoint(const fs::path& file_or_run_dir) {
  if (fs::is_directory(file_or_run_dir)) return newest_readable_checkpoint(file_or_run_dir);
  TORCH_CHECK(fs::exists(file_or_run_dir), "checkpoint '", file_or_run_dir.string(),
              "' does not exist");
  return file_or_run_dir;
}

GeneratorCheckpoint read_generator_checkpoint(const fs::path& file) {
  auto archive = open_archive(file);
  torch::Tensor text, shape, loop;
  reading(file, [&] {
    archive.read("config", text);
    archive.read("sample_shape", shape);
    archive.read("loop", loop);
  });
  GeneratorCheckpoint out{tensor_string(file, text, "config"), {}, tensor_int(file, loop, "loop")};
  // A sample is a 2-D point or an image [C, H, W]; anything else would build a generator of
  // any size from a damaged file.
  if (!(shape.dim() == 1 && shape.numel() >= 1 && shape.numel() <= 3 && !shape.is_floating_point())) {
    unreadable(file, "'sample_shape' is not a list of 1 to 3 sizes");
  }
  for (int64_t i = 0; i < shape.numel(); ++i) {
    const auto size = tensor_int(file, shape[i], "sample_shape");
    if (size < 1 || size > 65536) unreadable(file, c10::str("sample size ", size, " out of range"));
    out.sample_shape.push_back(size);
  }
  return out;
}

bool load_generator_weights(const fs::path& file, torch::nn::Module& generator, bool average) {
  auto archive = open_archive(file);
  bool averaged = false;
  reading(file, [&] {
    torch::serialize::InputArchive g;
    averaged = average && archive.try_read("generator_ema", g);
    if (!averaged) archive.read("generator", g);
    generator.load(g);
  });
  return averaged;
}

void load_discriminator_weights(const fs::path& file, torch::nn::Module& discriminator) {
  auto archive = open_archive(file);
  reading(file, [&] {
    torch::serialize::InputArchive d;
    TORCH_CHECK(archive.try_read("discriminator", d), "checkpoint '", file.string(),
                "' holds no discriminator: refinement needs the D it was trained with");
    discriminator.load(d);
  });
}

std::optional<uint64_t> checkpoint_number(const fs::path& file) {
  const auto name = file.filename().string();
  constexpr std::string_view prefix = "checkpoint-", suffix = ".pt";
  if (name.size() <= prefix.size() + suffix.size() || name.rfind(prefix, 0) != 0 ||
      name.compare(name.size() - suffix.size(), suffix.size(), suffix) != 0) {
    return std::nullopt;
  }
  const auto digits = std::string_view(name).substr(
      prefix.size(), name.size() - prefix.size() - suffix.size());
  uint64_t number = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), number);
  if (ec != std::errc() || end != digits.data() + digits.size()) return std::nullopt;
  return number;
}

std::vector<fs::path> list_checkpoints(const fs::path& dir) {
  std::vector<std::pair<uint64_t, fs::path>> found;
  if (!fs::is_directory(dir)) return {};
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (const auto number = checkpoint_number(entry.path()); number && entry.is_regular_file()) {
      found.emplace_back(*number, entry.path());
    }
  }
  std::sort(found.begin(), found.end());
  std::vector<fs::path> out;
  for (auto& [number, file] : found) out.push_back(std::move(file));
  return out;
}

fs::path newest_readable_checkpoint(const fs::path& run_dir) {
  const auto checkpoints = list_checkpoints(run_dir);
  TORCH_CHECK(!checkpoints.empty(), "no checkpoint-<loop>.pt in '", run_dir.string(), "'");
  std::string damaged;
  for (auto it = checkpoints.rbegin(); it != checkpoints.rend(); ++it) {
    try {
      checkpoint_config(*it);  // opens the archive: zip structure, CRCs, the config record
    } catch (const c10::Error& e) {
      damaged += "\n  " + std::string(e.what_without_backtrace());
      continue;
    }
    if (!damaged.empty()) {
      TORCH_WARN("newer checkpoint(s) in '", run_dir.string(), "' are damaged; using ",
                 it->filename().string(), " instead:", damaged);
    }
    return *it;
  }
  TORCH_CHECK(false, "every checkpoint in '", run_dir.string(), "' is damaged:", damaged);
}

fs::path resume_checkpoint(const fs::path& run_dir) {
  try {
    return newest_readable_checkpoint(run_dir);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "cannot resume: ", e.what_without_backtrace());
  }
}

}  // namespace vgrow::io
