#include "vgrow/io/checkpoint.h"

#include <algorithm>
#include <cstdio>

#include <torch/torch.h>

#include "vgrow/io/atomic_file.h"

namespace vgrow::io {
namespace fs = std::filesystem;

namespace {

torch::Tensor string_tensor(const std::string& s) {
  auto t = torch::empty({static_cast<int64_t>(s.size())}, torch::kUInt8);
  std::memcpy(t.data_ptr(), s.data(), s.size());
  return t;
}

std::string tensor_string(const torch::Tensor& t) {
  return std::string(static_cast<const char*>(t.data_ptr()), static_cast<size_t>(t.numel()));
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
  write_atomically(file, [&](const fs::path& tmp) { archive.save_to(tmp.string()); });
}

void load_checkpoint(const fs::path& file, Trainer& trainer) {
  TORCH_CHECK(fs::exists(file), "checkpoint '", file.string(), "' does not exist");
  torch::serialize::InputArchive archive;
  try {
    archive.load_from(file.string());
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "checkpoint '", file.string(), "' is not a readable vgrow checkpoint: ",
                e.what_without_backtrace());
  }
  trainer.load(archive);
}

std::string checkpoint_config(const fs::path& file) {
  TORCH_CHECK(fs::exists(file), "checkpoint '", file.string(), "' does not exist");
  torch::serialize::InputArchive archive;
  torch::Tensor text;
  try {
    archive.load_from(file.string());
    archive.read("config", text);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "checkpoint '", file.string(), "' is not a readable vgrow checkpoint: ",
                e.what_without_backtrace());
  }
  return tensor_string(text);
}

fs::path resolve_checkpoint(const fs::path& file_or_run_dir) {
  if (fs::is_directory(file_or_run_dir)) {
    const auto all = list_checkpoints(file_or_run_dir);
    TORCH_CHECK(!all.empty(), "no checkpoint-*.pt in '", file_or_run_dir.string(), "'");
    return all.back();
  }
  TORCH_CHECK(fs::exists(file_or_run_dir), "checkpoint '", file_or_run_dir.string(),
              "' does not exist");
  return file_or_run_dir;
}

GeneratorCheckpoint read_generator_checkpoint(const fs::path& file) {
  torch::serialize::InputArchive archive;
  torch::Tensor text, shape, loop;
  try {
    archive.load_from(file.string());
    archive.read("config", text);
    archive.read("sample_shape", shape);
    archive.read("loop", loop);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "checkpoint '", file.string(), "' is not a readable vgrow checkpoint: ",
                e.what_without_backtrace());
  }
  GeneratorCheckpoint out{tensor_string(text), {}, loop.item<int64_t>()};
  for (int64_t i = 0; i < shape.numel(); ++i) out.sample_shape.push_back(shape[i].item<int64_t>());
  return out;
}

void load_generator_weights(const fs::path& file, torch::nn::Module& generator) {
  torch::serialize::InputArchive archive, g;
  archive.load_from(file.string());
  archive.read("generator", g);
  generator.load(g);
}

std::vector<fs::path> list_checkpoints(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir)) {
    const auto name = entry.path().filename().string();
    if (name.rfind("checkpoint-", 0) == 0 && entry.path().extension() == ".pt") {
      out.push_back(entry.path());
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace vgrow::io
