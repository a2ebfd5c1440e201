#include "vgrow/data/cifar10.h"

#include <fstream>
#include <system_error>

#include <torch/torch.h>

namespace vgrow::data {
namespace fs = std::filesystem;
namespace {

constexpr int64_t kPixels = 3 * 32 * 32;
constexpr int64_t kRecord = 1 + kPixels;
constexpr int64_t kClasses = 10;
// A batch file is read whole into memory, so its size is checked first: the real batches hold
// 10000 records (30.7 MB); 1 GiB leaves room for larger files in the same format and refuses
// a file that would take a machine's memory.
constexpr int64_t kMaxBatchBytes = int64_t{1} << 30;

}  // namespace

ImageDataset read_cifar10_batch(const fs::path& path) {
  std::error_code ec;
  const auto size = static_cast<int64_t>(fs::file_size(path, ec));
  TORCH_CHECK(!ec, "cannot open CIFAR-10 batch '", path.string(), "': ", ec.message());
  TORCH_CHECK(size <= kMaxBatchBytes, "CIFAR-10 batch '", path.string(), "' has ", size,
              " bytes, over the limit of ", kMaxBatchBytes, " bytes (a batch of 10000 records has ",
              10000 * kRecord, ")");
  TORCH_CHECK(size > 0 && size % kRecord == 0, "CIFAR-10 batch '", path.string(), "' has ", size,
              " bytes, not a positive multiple of the ", kRecord, "-byte record");
  auto raw = torch::empty({size / kRecord, kRecord}, torch::kUInt8);
  std::ifstream in(path, std::ios::binary);
  in.read(reinterpret_cast<char*>(raw.data_ptr<uint8_t>()), size);
  TORCH_CHECK(in.gcount() == size, "CIFAR-10 batch '", path.string(), "': read ", in.gcount(),
              " of its ", size, " bytes");

  auto labels = raw.select(1, 0).to(torch::kInt64);
  const auto bad = (labels >= kClasses).nonzero();
  if (bad.numel() > 0) {
    const auto i = bad[0][0].item<int64_t>();
    TORCH_CHECK(false, "CIFAR-10 batch '", path.string(), "': record ", i, " has label ",
                labels[i].item<int64_t>(), ", expected 0..", kClasses - 1);
  }
  auto images = raw.slice(1, 1).reshape({-1, 3, 32, 32}).contiguous();
  return {images, labels, path.stem().string()};
}

ImageDataset load_cifar10(const fs::path& dir, const std::string& split) {
  TORCH_CHECK(split == "train" || split == "test", "unknown split '", split,
              "' (expected 'train' or 'test')");
  TORCH_CHECK(fs::is_directory(dir), "CIFAR-10 folder '", dir.string(), "' does not exist");
  std::vector<std::string> files{"test_batch.bin"};
  if (split == "train") {
    files = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin",
             "data_batch_5.bin"};
  }
  std::vector<torch::Tensor> images, labels;
  for (const auto& f : files) {
    TORCH_CHECK(fs::exists(dir / f), "CIFAR-10 folder '", dir.string(), "' has no '", f, "'");
    auto batch = read_cifar10_batch(dir / f);
    images.push_back(batch.images);
    labels.push_back(batch.labels);
  }
  return {torch::cat(images), torch::cat(labels), "cifar10:" + split};
}

}  // namespace vgrow::data
