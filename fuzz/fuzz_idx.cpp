// IDX image and label files (MNIST family), raw and gzip-compressed. Each input is read as
// it is (a raw file, or a gzip stream when it starts with the gzip magic) and once more
// gzip-compressed, so header checks are reached through zlib as well.

#include <zlib.h>

#include <c10/util/Exception.h>

#include "temp_input.h"
#include "vgrow/data/idx.h"

namespace {

std::string gzip(const uint8_t* data, size_t size) {
  z_stream z{};
  // windowBits 15 + 16: a gzip header and trailer instead of zlib's.
  if (deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) std::abort();
  std::string out(deflateBound(&z, size), '\0');
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  if (deflate(&z, Z_FINISH) != Z_STREAM_END) std::abort();
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

void read_both_kinds(const std::filesystem::path& path) {
  try {
    vgrow::data::read_idx_images(path);
  } catch (const c10::Error&) {
  }
  try {
    vgrow::data::read_idx_labels(path);
  } catch (const c10::Error&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("input-idx-ubyte");
  read_both_kinds(input.write(data, size));
  const auto compressed = gzip(data, size);
  read_both_kinds(input.write(compressed.data(), compressed.size()));
  return 0;
}
