#include "vgrow/data/image_dataset.h"

#include <algorithm>

#include <torch/torch.h>

#include "vgrow/data/cifar10.h"
#include "vgrow/data/idx.h"
#include "vgrow/data/image_folder.h"
#include "vgrow/io/pixels.h"

namespace vgrow::data {
namespace F = torch::nn::functional;
namespace {

// Resizing works on float copies; chunks keep that copy small for whole datasets.
constexpr int64_t kResizeChunk = 4096;
constexpr uint64_t kPreviewSeed = 20190101;

void check_images(const torch::Tensor& images, const char* what) {
  TORCH_CHECK(images.defined() && images.dim() == 4 && images.scalar_type() == torch::kUInt8, what,
              " needs uint8 images [N, C, H, W], got ",
              images.defined() ? c10::str(images.scalar_type(), " ", images.sizes()) : "none");
}

}  // namespace

std::vector<std::string> image_dataset_kinds() {
  return {"mnist", "fashion-mnist", "cifar10", "folder"};
}

torch::Tensor resize_images(const torch::Tensor& images, int64_t size) {
  check_images(images, "resize_images");
  TORCH_CHECK(size > 0, "resize_images: size must be positive, got ", size);
  if (images.size(2) == size && images.size(3) == size) return images;
  // LibTorch 1.13 has no antialiased bilinear: area averaging is the alias-free way down.
  const bool shrink = size <= images.size(2) && size <= images.size(3);
  auto options = F::InterpolateFuncOptions().size(std::vector<int64_t>{size, size});
  options =
      shrink ? options.mode(torch::kArea) : options.mode(torch::kBilinear).align_corners(false);
  std::vector<torch::Tensor> out;
  for (const auto& chunk : images.split(kResizeChunk)) {
    out.push_back(F::interpolate(chunk.to(torch::kFloat32), options)
                      .round_()
                      .clamp_(0, 255)
                      .to(torch::kUInt8));
  }
  return torch::cat(out);
}

ImageDataset load_image_dataset(const ImageDatasetOptions& o) {
  TORCH_CHECK(o.image_size >= 0, "image size must be positive (or 0 for native), got ",
              o.image_size);
  TORCH_CHECK(o.limit >= 0, "image limit must be non-negative, got ", o.limit);
  const auto kinds = image_dataset_kinds();
  if (std::find(kinds.begin(), kinds.end(), o.kind) == kinds.end()) {
    std::string known;
    for (const auto& k : kinds) known += (known.empty() ? "" : ", ") + k;
    TORCH_CHECK(false, "unknown dataset kind '", o.kind, "' (known: ", known, ")");
  }
  auto path = o.path;
  if (path.empty() && o.kind == "fashion-mnist") path = kFashionMnistDir;
  TORCH_CHECK(!path.empty(), "dataset kind '", o.kind,
              "' needs a path (the folder holding its files)");

  ImageDataset data;
  if (o.kind == "cifar10") {
    data = load_cifar10(path, o.split);
  } else if (o.kind == "folder") {
    data = load_image_folder(path, {o.image_size > 0 ? o.image_size : 32, o.channels, o.limit});
  } else {
    data = load_mnist_folder(path, o.split);
  }
  if (o.limit > 0 && o.limit < data.images.size(0)) {
    // clone() lets the rest of the file's images be freed.
    data.images = data.images.slice(0, 0, o.limit).clone();
    if (data.labels.defined()) data.labels = data.labels.slice(0, 0, o.limit).clone();
  }
  // MNIST's 28x28 asked at 32 is enlarged bilinearly (align_corners=false), then kept as uint8.
  if (o.image_size > 0) data.images = resize_images(data.images, o.image_size);
  if (o.kind != "folder") data.name = o.kind + ":" + o.split;
  return data;
}

ImageSource::ImageSource(torch::Tensor images, std::string name)
    : images_(std::move(images)), name_(std::move(name)) {
  check_images(images_, "ImageSource");
  TORCH_CHECK(images_.size(0) > 0, "ImageSource '", name_, "' has no images");
  images_ = images_.contiguous();
}

torch::Tensor ImageSource::next_batch(int64_t n) {
  TORCH_CHECK(n > 0, "ImageSource batch size must be positive, got ", n);
  const int64_t size = images_.size(0);
  if (!order_.defined()) order_ = torch::randperm(size, torch::kLong);
  std::vector<torch::Tensor> parts;
  for (int64_t need = n; need > 0;) {
    if (position_ == size) {
      order_ = torch::randperm(size, torch::kLong);
      position_ = 0;
      ++epoch_;
    }
    const int64_t take = std::min(need, size - position_);
    parts.push_back(order_.slice(0, position_, position_ + take));
    position_ += take;
    need -= take;
  }
  return io::to_float(images_.index_select(0, torch::cat(parts)));
}

torch::Tensor ImageSource::preview(int64_t n) const {
  TORCH_CHECK(n > 0, "ImageSource preview size must be positive, got ", n);
  const int64_t size = images_.size(0);
  const auto order =
      torch::randperm(size, at::detail::createCPUGenerator(kPreviewSeed), torch::kLong);
  return io::to_float(images_.index_select(0, order.index_select(0, torch::arange(n) % size)));
}

std::vector<int64_t> ImageSource::sample_shape() const {
  return {images_.size(1), images_.size(2), images_.size(3)};
}

std::string ImageSource::describe() const {
  return c10::str(name_, " (", images_.size(0), " images, ", images_.size(1), "x", images_.size(2),
                  "x", images_.size(3), ")");
}

void ImageSource::save_state(torch::serialize::OutputArchive& archive) const {
  archive.write("image_source_size", torch::tensor(images_.size(0)));
  archive.write("image_source_order", order_.defined() ? order_ : torch::empty({0}, torch::kLong));
  archive.write("image_source_position", torch::tensor(position_));
  archive.write("image_source_epoch", torch::tensor(epoch_));
}

void ImageSource::load_state(torch::serialize::InputArchive& archive) {
  torch::Tensor size, order, position, epoch;
  archive.read("image_source_size", size);
  archive.read("image_source_order", order);
  archive.read("image_source_position", position);
  archive.read("image_source_epoch", epoch);
  const int64_t n = images_.size(0);
  TORCH_CHECK(size.item<int64_t>() == n, "sampler state is for a dataset of ", size.item<int64_t>(),
              " images, but '", name_, "' has ", n);
  const int64_t pos = position.item<int64_t>();
  TORCH_CHECK(order.numel() == 0 || (order.numel() == n && pos >= 0 && pos <= n),
              "sampler state for '", name_, "' is inconsistent: order of ", order.numel(),
              " entries, position ", pos);
  order_ = order.numel() == 0 ? torch::Tensor() : order.to(torch::kLong);
  position_ = pos;
  epoch_ = epoch.item<int64_t>();
}

}  // namespace vgrow::data
