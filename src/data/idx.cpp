#include "vgrow/data/idx.h"

#include <algorithm>
#include <array>
#include <cstdio>
#include <fstream>
#include <initializer_list>
#include <string>
#include <system_error>

#include <c10/util/safe_numerics.h>
#include <torch/torch.h>
#include <zlib.h>

namespace vgrow::data {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kImagesMagic = 0x00000803;
constexpr uint32_t kLabelsMagic = 0x00000801;
// Deflate expands at most ~1032:1, so a .gz file of s bytes cannot hold more than this * s.
constexpr int64_t kMaxDeflateRatio = 1032;
// A label takes 9 bytes while read: the byte in the file and its int64 copy.
constexpr uint64_t kLabelMemoryPerByte = 1 + sizeof(int64_t);

std::string hex32(uint32_t v) {
  std::array<char, 11> buf{};
  std::snprintf(buf.data(), buf.size(), "0x%08x", v);
  return buf.data();
}

bool is_gzip(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::array<unsigned char, 2> head{};
  in.read(reinterpret_cast<char*>(head.data()), head.size());
  return in.gcount() == 2 && head[0] == 0x1f && head[1] == 0x8b;
}

// gzopen/gzread read compressed and raw files alike.
class IdxFile {
 public:
  explicit IdxFile(const fs::path& path) : path_(path) {
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    TORCH_CHECK(!ec, "cannot open IDX file '", path.string(), "': ", ec.message());
    file_size_ = static_cast<int64_t>(size);
    gzip_ = is_gzip(path);
    file_ = gzopen(path.c_str(), "rb");
    TORCH_CHECK(file_ != nullptr, "cannot open IDX file '", path.string(), "'");
  }
  IdxFile(const IdxFile&) = delete;
  IdxFile& operator=(const IdxFile&) = delete;
  ~IdxFile() { gzclose(file_); }

  // Reads up to n bytes; fewer only at the end of the data.
  int64_t read(void* dst, int64_t n) {
    auto* out = static_cast<char*>(dst);
    int64_t done = 0;
    while (done < n) {
      const auto chunk = static_cast<unsigned>(std::min<int64_t>(n - done, int64_t{1} << 30));
      const int got = gzread(file_, out + done, chunk);
      if (got < 0) {
        int code = 0;
        TORCH_CHECK(false, "cannot read IDX file '", path_.string(), "': ", gzerror(file_, &code));
      }
      if (got == 0) break;
      done += got;
    }
    return done;
  }

  // Header of `words` big-endian 32-bit integers, the first being the magic number (checked
  // first, so a wrong kind of file is reported as such rather than as truncated).
  std::vector<uint32_t> header(uint32_t magic, int words, const char* what) {
    std::vector<uint32_t> out;
    for (int i = 0; i < words; ++i) {
      std::array<unsigned char, 4> b{};
      const auto got = read(b.data(), 4);
      TORCH_CHECK(got == 4, "IDX file '", path_.string(), "' is truncated: its header needs ",
                  4 * words, " bytes, the file holds ", 4 * i + got);
      out.push_back((uint32_t{b[0]} << 24) | (uint32_t{b[1]} << 16) | (uint32_t{b[2]} << 8) | b[3]);
      TORCH_CHECK(out[0] == magic, "'", path_.string(), "' is not an IDX ", what,
                  " file: magic number ", hex32(out[0]), ", expected ", hex32(magic));
    }
    return out;
  }

  // Refuses, before allocating, a header whose items would take more memory than the limit
  // (`memory_per_byte` bytes in memory for each byte of the file's payload, the product of
  // `dims`, multiplied without overflow: three 32-bit header fields can exceed 2^64), or whose
  // payload is more than the file can hold. Returns the payload's size in bytes.
  int64_t check_payload(std::initializer_list<int64_t> dims, uint64_t memory_per_byte,
                        const std::string& described, const IdxOptions& options,
                        int64_t header_bytes) const {
    uint64_t payload = 0, memory = 0;
    const bool overflows = c10::safe_multiplies_u64(dims, &payload) ||
                           c10::mul_overflows(payload, memory_per_byte, &memory);
    const auto limit = static_cast<uint64_t>(std::max<int64_t>(options.max_bytes, 0));
    TORCH_CHECK(!overflows && memory <= limit, "IDX file '", path_.string(), "' header claims ",
                described, " (", overflows ? std::string("more than 2^64") : std::to_string(memory),
                " bytes in memory), over the ", options.max_bytes, "-byte limit");
    const auto bytes = static_cast<int64_t>(payload);  // at most memory, so at most max_bytes
    if (gzip_) {
      TORCH_CHECK(bytes <= kMaxDeflateRatio * file_size_, "IDX file '", path_.string(),
                  "' header claims ", described, " (", bytes,
                  " bytes), more than a compressed file of ", file_size_, " bytes can hold");
    } else {
      check_complete(bytes, file_size_ - header_bytes);
    }
    return bytes;
  }

  void check_complete(int64_t expected, int64_t got) const {
    TORCH_CHECK(got >= expected, "IDX file '", path_.string(),
                "' is truncated: its header promises ", expected, " bytes of data, the file holds ",
                got);
  }

  // Reads exactly n payload bytes and insists nothing follows them.
  void read_payload(void* dst, int64_t n) {
    check_complete(n, read(dst, n));
    char extra = 0;
    TORCH_CHECK(read(&extra, 1) == 0, "IDX file '", path_.string(),
                "' has data past the items its header declares");
  }

 private:
  fs::path path_;
  int64_t file_size_ = 0;
  bool gzip_ = false;
  gzFile file_ = nullptr;
};

fs::path find_split_file(const fs::path& dir, const std::string& stem) {
  const auto gz = dir / (stem + ".gz");
  if (fs::exists(gz)) return gz;
  TORCH_CHECK(fs::exists(dir / stem), "no '", stem, ".gz' or '", stem, "' in '", dir.string(), "'");
  return dir / stem;
}

}  // namespace

torch::Tensor read_idx_images(const fs::path& path, const IdxOptions& options) {
  IdxFile file(path);
  const auto h = file.header(kImagesMagic, 4, "image");
  const int64_t n = h[1], rows = h[2], cols = h[3];
  TORCH_CHECK(rows > 0 && cols > 0, "IDX file '", path.string(), "' header claims images of ", rows,
              "x", cols, " pixels");
  file.check_payload({n, rows, cols}, 1, c10::str(n, " images of ", rows, "x", cols), options,
                     16);
  auto images = torch::empty({n, 1, rows, cols}, torch::kUInt8);
  file.read_payload(images.data_ptr<uint8_t>(), images.numel());
  return images;
}

torch::Tensor read_idx_labels(const fs::path& path, const IdxOptions& options) {
  IdxFile file(path);
  const auto h = file.header(kLabelsMagic, 2, "label");
  const int64_t n = h[1];
  file.check_payload({n}, kLabelMemoryPerByte, c10::str(n, " labels"), options, 8);
  auto labels = torch::empty({n}, torch::kUInt8);
  file.read_payload(labels.data_ptr<uint8_t>(), n);
  return labels.to(torch::kInt64);
}

ImageDataset read_idx_pair(const fs::path& images, const fs::path& labels,
                           const IdxOptions& options) {
  ImageDataset out{read_idx_images(images, options), read_idx_labels(labels, options),
                   images.stem().string()};
  TORCH_CHECK(out.images.size(0) == out.labels.size(0), "IDX files disagree: '", images.string(),
              "' holds ", out.images.size(0), " images but '", labels.string(), "' holds ",
              out.labels.size(0), " labels");
  return out;
}

ImageDataset load_mnist_folder(const fs::path& dir, const std::string& split,
                               const IdxOptions& options) {
  TORCH_CHECK(split == "train" || split == "test", "unknown split '", split,
              "' (expected 'train' or 'test')");
  TORCH_CHECK(fs::is_directory(dir), "MNIST-style dataset folder '", dir.string(),
              "' does not exist");
  const std::string prefix = split == "train" ? "train" : "t10k";
  auto out = read_idx_pair(find_split_file(dir, prefix + "-images-idx3-ubyte"),
                           find_split_file(dir, prefix + "-labels-idx1-ubyte"), options);
  out.name = (dir / "").parent_path().filename().string() + ":" + split;
  return out;
}

}  // namespace vgrow::data
