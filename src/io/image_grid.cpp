#include "vgrow/io/image_grid.h"

#include <torch/torch.h>

#include "vgrow/io/pixels.h"
#include "vgrow/io/png.h"

namespace vgrow::io {

torch::Tensor make_image_grid(const torch::Tensor& batch, const ImageGridOptions& options) {
  TORCH_CHECK(batch.defined() && batch.dim() == 4 && batch.size(0) > 0 &&
                  (batch.size(1) == 1 || batch.size(1) == 3),
              "make_image_grid needs a batch [N > 0, C, H, W] with C 1 or 3, got ",
              batch.defined() ? c10::str(batch.sizes()) : "none");
  TORCH_CHECK(options.nrow > 0, "image grid nrow must be positive, got ", options.nrow);
  TORCH_CHECK(options.padding >= 0, "image grid padding must be non-negative, got ",
              options.padding);
  const auto images = to_uint8(batch.cpu());
  const int64_t n = images.size(0), c = images.size(1), h = images.size(2), w = images.size(3);
  const int64_t p = options.padding, cols = std::min(options.nrow, n), rows = (n + cols - 1) / cols;
  auto grid =
      torch::full({c, rows * (h + p) + p, cols * (w + p) + p}, options.pad_value, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    const int64_t top = (i / cols) * (h + p) + p, left = (i % cols) * (w + p) + p;
    grid.slice(1, top, top + h).slice(2, left, left + w).copy_(images[i]);
  }
  return grid;
}

void save_image_grid(const std::filesystem::path& path, const torch::Tensor& batch,
                     const ImageGridOptions& options) {
  write_png(path, make_image_grid(batch, options));
}

}  // namespace vgrow::io
