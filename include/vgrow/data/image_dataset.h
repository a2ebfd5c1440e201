#pragma once
// Image datasets held in memory as uint8, converted to float [-1, 1] one batch at a time.

#include <filesystem>
#include <string>
#include <vector>

#include "vgrow/data/source.h"

namespace vgrow::data {

// Where Debian's dataset package installs Fashion-MNIST (the default for that kind).
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

struct ImageDataset {
  torch::Tensor images;  // uint8 [N, C, H, W]
  torch::Tensor labels;  // int64 [N], or undefined when the data has none
  std::string name;
};

struct ImageDatasetOptions {
  std::string kind = "fashion-mnist";  // one of image_dataset_kinds()
  std::filesystem::path path;          // empty: the kind's default location, if it has one
  std::string split = "train";         // "train" or "test" (ignored by "folder")
  int64_t image_size = 0;              // square side; 0 keeps the native size (folder: 32)
  int64_t channels = 3;                // "folder" only: 1 or 3
  int64_t limit = 0;                   // keep the first `limit` images; 0 keeps all
};

std::vector<std::string> image_dataset_kinds();
ImageDataset load_image_dataset(const ImageDatasetOptions& options);

// Resizes uint8 [N, C, H, W] to [N, C, size, size]: bilinear (align_corners=false) when
// enlarging, area averaging when shrinking; rounded back to uint8.
torch::Tensor resize_images(const torch::Tensor& images, int64_t size);

// Infinite sampler without replacement: walks one random permutation (torch::randperm on
// the global generator) and draws a fresh one only when it is used up.
class ImageSource : public RealSource {
 public:
  ImageSource(torch::Tensor images, std::string name);
  explicit ImageSource(const ImageDataset& dataset) : ImageSource(dataset.images, dataset.name) {}

  torch::Tensor next_batch(int64_t n) override;  // float32 [-1, 1]
  // The same n images on every call: a permutation from a private, fixed-seed generator.
  torch::Tensor preview(int64_t n) const override;
  std::vector<int64_t> sample_shape() const override;
  std::string describe() const override;
  void save_state(torch::serialize::OutputArchive& archive) const override;
  void load_state(torch::serialize::InputArchive& archive) override;

  int64_t size() const { return images_.size(0); }
  const torch::Tensor& images() const { return images_; }  // uint8 [N, C, H, W]
  int64_t epoch() const { return epoch_; }  // permutations completed so far

 private:
  torch::Tensor images_;  // uint8 [N, C, H, W]
  std::string name_;
  torch::Tensor order_;   // int64 [N]; undefined until the first batch
  int64_t position_ = 0;  // next index into order_
  int64_t epoch_ = 0;
};

}  // namespace vgrow::data
