#include "vgrow/io/zip_check.h"

#include <zlib.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <fstream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include <c10/util/Exception.h>
#include <caffe2/serialize/versions.h>

namespace vgrow::io {
namespace fs = std::filesystem;
namespace {

constexpr uint32_t kLocalHeader = 0x04034b50, kCentralHeader = 0x02014b50;
constexpr uint32_t kEndOfDirectory = 0x06054b50, kZip64End = 0x06064b50;
constexpr uint32_t kZip64Locator = 0x07064b50;
constexpr size_t kEndSize = 22, kMaxComment = 0xFFFF;
constexpr uint64_t kStored = 0, kDeflated = 8;
// LibTorch's largest TorchScript code records are some 100 KiB. More is refused: deflated, it
// would be a decompression bomb, however well it inflates.
constexpr uint64_t kMaxCode = 16 << 20;

uint64_t le(std::string_view b, size_t at, int bytes) {
  uint64_t v = 0;
  for (int i = bytes - 1; i >= 0; --i) v = v << 8 | static_cast<unsigned char>(b[at + i]);
  return v;
}

// LibTorch stores every record as it is, except the TorchScript code it writes under
// "<archive>/code/" (sources and their debug pickles), which it deflates when over 200 bytes.
bool is_code_record(std::string_view name) {
  const auto slash = name.find('/');
  return slash != std::string_view::npos && slash > 0 &&
         name.substr(slash + 1).starts_with("code/");
}

bool consume(std::string_view& s, std::string_view prefix) {
  if (!s.starts_with(prefix)) return false;
  s.remove_prefix(prefix.size());
  return true;
}

bool consume_suffix(std::string_view& s, std::string_view suffix) {
  if (!s.ends_with(suffix)) return false;
  s.remove_suffix(suffix.size());
  return true;
}

bool is_identifier(std::string_view s) {
  const auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  return !s.empty() && !std::isdigit(static_cast<unsigned char>(s[0])) &&
         std::all_of(s.begin(), s.end(), word);
}

// "Tensor", "Tuple[float, float]", "__torch__.___torch_mangle_3.Module", ...
bool is_type(std::string_view s) {
  const auto part = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) ||
           std::string_view("_.[](), ").find(c) != std::string_view::npos;
  };
  return !s.empty() && std::all_of(s.begin(), s.end(), part);
}

// "name": an attribute name as LibTorch quotes it, with nothing to escape.
bool is_quoted(std::string_view s) {
  return s.size() >= 2 && s.front() == '"' && s.back() == '"' &&
         s.substr(1, s.size() - 2).find_first_of("\"\\") == std::string_view::npos;
}

// ["weight", "bias", ]
bool is_name_list(std::string_view s) {
  if (!consume(s, "[")) return false;
  while (!consume(s, "]")) {
    const auto end = s.find("\", ");
    if (end == std::string_view::npos || !is_quoted(s.substr(0, end + 1))) return false;
    s.remove_prefix(end + 3);
  }
  return s.empty();
}

// The lines LibTorch writes for the classes of a saved archive (torch::serialize), whose
// modules hold attributes and no methods:
//   class Module(Module):
//     __parameters__ = ["weight", ]      __buffers__ = [...]      __annotations__ = []
//     __annotations__["0"] = __torch__.___torch_mangle_1.Module
//     weight : Tensor
bool is_declaration(std::string_view line) {
  if (line.empty()) return true;
  if (consume(line, "class ")) return consume_suffix(line, "(Module):") && is_identifier(line);
  if (!consume(line, "  ")) return false;
  if (consume(line, "__parameters__ = ") || consume(line, "__buffers__ = ")) {
    return is_name_list(line);
  }
  if (line == "__annotations__ = []") return true;
  if (consume(line, "__annotations__[")) {
    const auto close = line.find("] = ");
    return close != std::string_view::npos && is_quoted(line.substr(0, close)) &&
           is_type(line.substr(close + 4));
  }
  const auto colon = line.find(" : ");
  return colon != std::string_view::npos && is_identifier(line.substr(0, colon)) &&
         is_type(line.substr(colon + 3));
}

// A line of a file for a message: printable, and not too long.
std::string shown(std::string_view line) {
  std::string out(line.substr(0, 100));
  for (auto& c : out) c = std::isprint(static_cast<unsigned char>(c)) ? c : '?';
  return line.size() > out.size() ? out + "..." : out;
}

class Archive {
 public:
  Archive(const fs::path& file, const std::string& what, const ZipCheckOptions& options)
      : what_(what), options_(options), in_(file, std::ios::binary) {
    TORCH_CHECK(in_.is_open(), what_, " cannot be opened");
    std::error_code ec;
    size_ = fs::file_size(file, ec);
    TORCH_CHECK(!ec, what_, " cannot be read: ", ec.message());
  }

  void verify() {
    const auto [offset, size, entries] = directory();
    const auto dir = bytes(offset, size, "its directory");
    size_t at = 0;
    for (uint64_t i = 0; i < entries; ++i) at = entry(dir, at, offset);
    check_layout();
  }

 private:
  [[noreturn]] void damaged(const std::string& why) const {
    TORCH_CHECK(false, what_, " is damaged (truncated or corrupted?): ", why);
  }

  std::string bytes(uint64_t offset, uint64_t n, const char* what) {
    if (offset > size_ || n > size_ - offset) damaged(c10::str(what, " lies past the end of the file"));
    std::string out(n, '\0');
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    in_.read(out.data(), static_cast<std::streamsize>(n));
    TORCH_CHECK(in_.gcount() == static_cast<std::streamsize>(n), what_, ": read error");
    return out;
  }

  struct Directory {
    uint64_t offset, size, entries;
  };
  // The end-of-directory record is in the last 22 bytes plus at most a 64 KiB comment.
  Directory directory() {
    const uint64_t tail_size = std::min<uint64_t>(size_, kEndSize + kMaxComment);
    const auto tail = bytes(size_ - tail_size, tail_size, "the end");
    for (size_t at = tail.size() >= kEndSize ? tail.size() - kEndSize + 1 : 0; at-- > 0;) {
      if (le(tail, at, 4) != kEndOfDirectory) continue;
      Directory d{le(tail, at + 16, 4), le(tail, at + 12, 4), le(tail, at + 10, 2)};
      if (at >= 20 && le(tail, at - 20, 4) == kZip64Locator) {
        const auto end64 = bytes(le(tail, at - 12, 8), 56, "its zip64 directory record");
        if (le(end64, 0, 4) != kZip64End) damaged("no zip64 directory record");
        d = {le(end64, 48, 8), le(end64, 40, 8), le(end64, 32, 8)};
      }
      return d;
    }
    damaged("no zip directory at its end");
  }

  // What LibTorch's reader checks only after it has set up its zip reader: it throws from its
  // constructor then, and leaks that reader (LeakSanitizer, fuzz/fuzz_stats_cache). The first
  // entry names the archive folder, which must hold a version record with a number LibTorch
  // reads. Its lookups ignore case, so names that differ only in case are refused as well.
  void check_layout() {
    if (entries_.empty()) damaged("the archive holds no entries");
    const auto& first = entries_.front().name;
    const auto slash = first.find('/');
    if (slash == std::string::npos || slash == 0) {
      damaged("its first entry '" + shown(first) + "' is in no folder");
    }
    std::vector<std::string> folded;
    for (const auto& e : entries_) {
      folded.push_back(e.name);
      for (auto& c : folded.back()) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    }
    std::sort(folded.begin(), folded.end());
    const auto same = std::adjacent_find(folded.begin(), folded.end());
    if (same != folded.end()) damaged("two entries are named '" + shown(*same) + "'");
    const auto folder = first.substr(0, slash + 1);
    const auto named = [&](const std::string& name) {
      return std::find_if(entries_.begin(), entries_.end(),
                          [&](const Entry& e) { return e.name == name; });
    };
    auto version = named(folder + ".data/version");
    if (version == entries_.end()) version = named(folder + "version");
    if (version == entries_.end()) damaged("it has no '" + shown(folder) + "version' record");
    if (version->size > 64) damaged("its version record is too long");
    auto text = bytes(version->data, version->size, "its version");
    if (text.ends_with('\n')) text.pop_back();
    const bool digits = !text.empty() && text.size() <= 4 &&
                        std::all_of(text.begin(), text.end(),
                                    [](char c) { return c >= '0' && c <= '9'; });
    const auto number = digits ? std::stoull(text) : 0;
    TORCH_CHECK(digits && number >= caffe2::serialize::kMinSupportedFileFormatVersion &&
                    number <= caffe2::serialize::kMaxSupportedFileFormatVersion,
                what_, ": its format version '", shown(text), "' is not one this LibTorch reads (",
                caffe2::serialize::kMinSupportedFileFormatVersion, " to ",
                caffe2::serialize::kMaxSupportedFileFormatVersion, ")");
  }

  // Checks the entry whose directory record starts at dir[at]; returns the next record.
  size_t entry(std::string_view dir, size_t at, uint64_t dir_offset) {
    if (at + 46 > dir.size() || le(dir, at, 4) != kCentralHeader) damaged("a bad directory record");
    const auto name_size = le(dir, at + 28, 2), extra_size = le(dir, at + 30, 2);
    const auto next = at + 46 + name_size + extra_size + le(dir, at + 32, 2);
    if (next > dir.size()) damaged("a bad directory record");
    const std::string name(dir.substr(at + 46, name_size));
    const auto crc = le(dir, at + 16, 4);
    uint64_t size = le(dir, at + 24, 4), stored = le(dir, at + 20, 4), local = le(dir, at + 42, 4);
    // Zip64: the sizes and offset that do not fit 32 bits follow in extra field 1, in order.
    const size_t extra_end = at + 46 + name_size + extra_size;
    for (size_t e = at + 46 + name_size; e + 4 <= extra_end;) {
      const auto id = le(dir, e, 2), length = le(dir, e + 2, 2);
      size_t field = e + 4;
      for (auto* value : {&size, &stored, &local}) {
        if (id == 1 && *value == 0xFFFFFFFF && field + 8 <= std::min(e + 4 + length, extra_end)) {
          *value = le(dir, field, 8);
          field += 8;
        }
      }
      e += 4 + length;
    }
    const auto method = le(dir, at + 10, 2);
    check_method(name, method, stored, size);
    const auto header = bytes(local, 30, "an entry");
    if (le(header, 0, 4) != kLocalHeader) damaged("entry '" + name + "' has no local header");
    const auto data = local + 30 + le(header, 26, 2) + le(header, 28, 2);
    if (data > dir_offset || stored > dir_offset - data) {
      damaged("entry '" + name + "' runs into the directory");
    }
    const bool screened = options_.attributes_only && is_code_record(name) && name.ends_with(".py");
    std::string code;
    const auto [crc_found, size_found] =
        checksum(data, stored, method == kDeflated, size, screened ? &code : nullptr);
    if (size_found != size) damaged("entry '" + name + "' does not hold the size it declares");
    if (crc_found != crc) damaged("entry '" + name + "' fails its CRC-32 check");
    if (screened) check_declarations(name, code);
    entries_.push_back({name, data, stored});
    return next;
  }

  // LibTorch compiles this code when it loads the archive, and its compiler is no hardened
  // parser (a class constant in place of __buffers__ crashed it: fuzz/corpus/fuzz_checkpoint/
  // crash-torchscript-parser-segv). An archive of attributes needs nothing but declarations.
  void check_declarations(const std::string& name, std::string_view code) const {
    size_t number = 1;
    for (size_t start = 0; start <= code.size(); ++number) {
      const auto end = std::min(code.find('\n', start), code.size());
      const auto line = code.substr(start, end - start);
      TORCH_CHECK(is_declaration(line), what_, ": entry '", name, "' line ", number,
                  " is no attribute declaration: '", shown(line),
                  "'; the TorchScript of a saved archive declares attributes only, and LibTorch "
                  "would compile anything else");
      start = end + 1;
    }
  }

  // Stored entries, as LibTorch writes its records, and deflated TorchScript code (which it
  // compresses) of a bounded size. Anything else was not written by LibTorch as it stands,
  // and would only widen what LibTorch's reader has to decode.
  void check_method(const std::string& name, uint64_t method, uint64_t stored,
                    uint64_t size) const {
    if (method == kStored) {
      if (stored != size) damaged("entry '" + name + "' is stored but declares two sizes");
    } else {
      TORCH_CHECK(method == kDeflated, what_, ": entry '", name, "' has compression method ",
                  method, "; only stored entries (method 0) are accepted, as LibTorch writes them");
      TORCH_CHECK(is_code_record(name), what_, ": entry '", name,
                  "' is compressed (deflate); only stored entries are accepted, as LibTorch "
                  "writes them (it compresses its TorchScript code alone)");
    }
    TORCH_CHECK(!is_code_record(name) || size <= kMaxCode, what_, ": entry '", name, "' holds ",
                size, " bytes of TorchScript code; more than ", kMaxCode, " is refused");
  }

  // CRC-32 and size of an entry's content: `n` bytes from `offset`, raw deflate or stored;
  // the content itself too when `content` is given. Inflating stops soon after `expected`
  // bytes: a damaged stream may expand without end.
  std::pair<uint64_t, uint64_t> checksum(uint64_t offset, uint64_t n, bool deflated,
                                         uint64_t expected, std::string* content) {
    uLong crc = crc32(0, nullptr, 0);
    uint64_t size = 0;
    const auto add = [&](const char* p, size_t k) {
      crc = crc32_z(crc, reinterpret_cast<const Bytef*>(p), k);
      size += k;
      if (content) content->append(p, k);
    };
    z_stream z{};
    if (deflated && inflateInit2(&z, -MAX_WBITS) != Z_OK) TORCH_CHECK(false, what_, ": zlib failed");
    int status = Z_OK;
    in_.clear();
    in_.seekg(static_cast<std::streamoff>(offset));
    while (n > 0 && status == Z_OK && size <= expected) {
      const auto want = static_cast<std::streamsize>(std::min<uint64_t>(n, chunk_.size()));
      in_.read(chunk_.data(), want);
      TORCH_CHECK(in_.gcount() == want, what_, ": read error");
      n -= static_cast<uint64_t>(want);
      if (!deflated) {
        add(chunk_.data(), static_cast<size_t>(want));
        continue;
      }
      z.next_in = reinterpret_cast<Bytef*>(chunk_.data());
      z.avail_in = static_cast<uInt>(want);
      do {
        z.next_out = reinterpret_cast<Bytef*>(inflated_.data());
        z.avail_out = static_cast<uInt>(inflated_.size());
        status = inflate(&z, Z_NO_FLUSH);
        add(inflated_.data(), inflated_.size() - z.avail_out);
      } while (status == Z_OK && z.avail_out == 0 && size <= expected);
      if (status == Z_BUF_ERROR) status = Z_OK;  // wants more input
    }
    if (deflated) {
      inflateEnd(&z);
      if (status != Z_STREAM_END && size <= expected) {
        damaged("an entry's compressed data is broken");
      }
    }
    return {crc, size};
  }

  struct Entry {
    std::string name;
    uint64_t data, size;  // where its content starts, and its stored size
  };

  std::string what_;
  ZipCheckOptions options_;
  std::vector<Entry> entries_;
  std::ifstream in_;
  uint64_t size_ = 0;
  std::vector<char> chunk_ = std::vector<char>(1 << 20), inflated_ = std::vector<char>(1 << 20);
};

}  // namespace

void verify_zip(const fs::path& file, const std::string& what, const ZipCheckOptions& options) {
  Archive(file, what, options).verify();
}

}  // namespace vgrow::io
