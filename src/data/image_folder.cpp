#include "vgrow/data/image_folder.h"

#include <algorithm>
#include <cctype>

#include <torch/torch.h>

#include "vgrow/io/image_decode.h"

namespace vgrow::data {
namespace fs = std::filesystem;
namespace {

bool is_image_file(const fs::path& path) {
  auto ext = path.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

// Centre crop to the largest square, then resize_images (area down, bilinear up).
torch::Tensor crop_and_resize(const torch::Tensor& image, int64_t size) {
  const int64_t h = image.size(1), w = image.size(2), side = std::min(h, w);
  const auto square = image.slice(1, (h - side) / 2, (h - side) / 2 + side)
                          .slice(2, (w - side) / 2, (w - side) / 2 + side);
  return resize_images(square.unsqueeze(0), size).squeeze(0);
}

}  // namespace

std::vector<fs::path> list_image_files(const fs::path& root) {
  TORCH_CHECK(fs::is_directory(root), "image folder '", root.string(), "' does not exist");
  std::vector<fs::path> files;
  for (const auto& entry :
       fs::recursive_directory_iterator(root, fs::directory_options::follow_directory_symlink)) {
    if (entry.is_regular_file() && is_image_file(entry.path())) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

ImageDataset load_image_folder(const fs::path& root, const ImageFolderOptions& options) {
  TORCH_CHECK(options.channels == 1 || options.channels == 3,
              "image folder channels must be 1 or 3, got ", options.channels);
  TORCH_CHECK(options.image_size > 0, "image folder size must be positive, got ",
              options.image_size);
  TORCH_CHECK(options.limit >= 0, "image folder limit must be non-negative, got ", options.limit);
  auto files = list_image_files(root);
  TORCH_CHECK(!files.empty(), "no PNG or JPEG files under '", root.string(), "'");
  if (options.limit > 0 && options.limit < static_cast<int64_t>(files.size()))
    files.resize(options.limit);

  auto images = torch::empty({static_cast<int64_t>(files.size()), options.channels,
                              options.image_size, options.image_size},
                             torch::kUInt8);
  for (size_t i = 0; i < files.size(); ++i) {
    images[static_cast<int64_t>(i)].copy_(
        crop_and_resize(io::decode_image(files[i], static_cast<int>(options.channels)),
                        options.image_size));
  }
  return {images, torch::Tensor(), "folder:" + (root / "").parent_path().filename().string()};
}

}  // namespace vgrow::data
