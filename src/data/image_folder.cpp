#include "vgrow/data/image_folder.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include <c10/util/safe_numerics.h>
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

// Refuses, before allocating, the uint8 [n, channels, image_size, image_size] tensor of a
// folder's images when it would take more than max_bytes; the product is taken without
// overflow.
void check_memory(const fs::path& root, int64_t n, const ImageFolderOptions& o) {
  const std::array<int64_t, 4> sizes{n, o.channels, o.image_size, o.image_size};
  uint64_t bytes = 0;
  const bool overflows = c10::safe_multiplies_u64(sizes, &bytes);
  TORCH_CHECK(!overflows && bytes <= static_cast<uint64_t>(std::max<int64_t>(o.max_bytes, 0)),
              "image folder '", root.string(), "': ", n, " images of ", o.channels, "x",
              o.image_size, "x", o.image_size, " take ",
              overflows ? std::string("more than 2^64") : std::to_string(bytes),
              " bytes, over the limit of ", o.max_bytes,
              " bytes (use fewer images or a smaller image size)");
}

// Centre crop to the largest square, then resize_images (area down, bilinear up).
torch::Tensor crop_and_resize(const torch::Tensor& image, int64_t size) {
  const int64_t h = image.size(1), w = image.size(2), side = std::min(h, w);
  const auto square = image.slice(1, (h - side) / 2, (h - side) / 2 + side)
                          .slice(2, (w - side) / 2, (w - side) / 2 + side);
  return resize_images(square.unsqueeze(0), size).squeeze(0);
}

// The image files under a folder, following symbolic links, each folder entered once: one
// reached a second time is an error, whether through a link loop (which would never end) or
// through two links to the same folder (each level of which doubles the work).
class FolderWalk {
 public:
  explicit FolderWalk(const fs::path& root) : root_(root) { walk(root, identify(root)); }
  const std::vector<fs::path>& files() const { return files_; }

 private:
  using FolderId = std::pair<dev_t, ino_t>;

  FolderId identify(const fs::path& folder) const {
    struct stat st {};
    const int error = ::stat(folder.c_str(), &st) == 0 ? 0 : errno;
    TORCH_CHECK(error == 0, "cannot read '", folder.string(), "' in image folder '",
                root_.string(), "': ", std::strerror(error));
    return {st.st_dev, st.st_ino};
  }

  void walk(const fs::path& folder, const FolderId& id) {
    const auto [first, entered] = entered_.emplace(id, folder);
    if (!entered) {
      const bool loop = std::find(open_.begin(), open_.end(), id) != open_.end();
      TORCH_CHECK(!loop, "image folder '", root_.string(), "' has a symbolic link loop: '",
                  folder.string(), "' leads back to '", first->second.string(), "'");
      TORCH_CHECK(false, "image folder '", root_.string(), "' reaches the folder '",
                  first->second.string(), "' a second time, as '", folder.string(),
                  "' (through a symbolic link): its images would be read twice");
    }
    open_.push_back(id);
    for (const auto& entry : entries(folder)) {
      struct stat st {};
      if (::stat(entry.c_str(), &st) != 0) {
        const int error = errno;
        // A dangling link holds nothing; a link to itself is a loop of another kind.
        TORCH_CHECK(error == ENOENT || error == ENOTDIR, "image folder '", root_.string(),
                    error == ELOOP ? "' has a symbolic link loop at '" : "': cannot read '",
                    entry.string(), "': ", std::strerror(error));
      } else if (S_ISDIR(st.st_mode)) {
        walk(entry, {st.st_dev, st.st_ino});
      } else if (S_ISREG(st.st_mode) && is_image_file(entry)) {
        files_.push_back(entry);
      }
    }
    open_.pop_back();
  }

  // A folder's entries, sorted, so that the walk (and which name an error gives) is the same
  // on every file system.
  std::vector<fs::path> entries(const fs::path& folder) const {
    std::vector<fs::path> out;
    std::error_code ec;
    for (fs::directory_iterator it(folder, ec); !ec && it != fs::directory_iterator();
         it.increment(ec))
      out.push_back(it->path());
    TORCH_CHECK(!ec, "cannot list '", folder.string(), "' in image folder '", root_.string(),
                "': ", ec.message());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path root_;
  std::map<FolderId, fs::path> entered_;  // each folder entered, with the name it was entered by
  std::vector<FolderId> open_;            // the folders being walked, outermost first
  std::vector<fs::path> files_;
};

}  // namespace

std::vector<fs::path> list_image_files(const fs::path& root) {
  TORCH_CHECK(fs::is_directory(root), "image folder '", root.string(), "' does not exist");
  FolderWalk walk(root);
  auto files = walk.files();
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

  const auto n = static_cast<int64_t>(files.size());
  check_memory(root, n, options);
  auto images =
      torch::empty({n, options.channels, options.image_size, options.image_size}, torch::kUInt8);
  for (int64_t i = 0; i < n; ++i) {
    images[i].copy_(crop_and_resize(
        io::decode_image(files[i], static_cast<int>(options.channels), options.decode),
        options.image_size));
  }
  return {images, torch::Tensor(), "folder:" + (root / "").parent_path().filename().string()};
}

}  // namespace vgrow::data
