#include "vgrow/metrics/inception.h"

#include <torch/script.h>
#include <torch/torch.h>

#include <array>
#include <cstdio>
#include <fstream>

#include "vgrow/io/zip_check.h"

namespace vgrow::metrics {

namespace {

// FIPS 180-4 SHA-256, streaming.
class Sha256 {
 public:
  void update(const unsigned char* data, size_t size) {
    for (size_t i = 0; i < size; ++i) {
      block_[fill_++] = data[i];
      if (fill_ == 64) {
        compress();
        fill_ = 0;
      }
    }
    length_ += size;
  }

  std::string hex() {
    const uint64_t bits = length_ * 8;
    const unsigned char one = 0x80, zero = 0x00;
    update(&one, 1);
    while (fill_ != 56) update(&zero, 1);
    for (int shift = 56; shift >= 0; shift -= 8) {
      const auto byte = static_cast<unsigned char>(bits >> shift);
      update(&byte, 1);
    }
    std::string out;
    char digits[9];
    for (uint32_t word : state_) {
      std::snprintf(digits, sizeof digits, "%08x", word);
      out += digits;
    }
    return out;
  }

 private:
  static uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

  void compress() {
    static constexpr std::array<uint32_t, 64> k = {
        0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4,
        0xab1c5ed5, 0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe,
        0x9bdc06a7, 0xc19bf174, 0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f,
        0x4a7484aa, 0x5cb0a9dc, 0x76f988da, 0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7,
        0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, 0x27b70a85, 0x2e1b2138, 0x4d2c6dfc,
        0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, 0xa2bfe8a1, 0xa81a664b,
        0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, 0x19a4c116,
        0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
        0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7,
        0xc67178f2};
    std::array<uint32_t, 64> w{};
    for (int i = 0; i < 16; ++i)
      w[i] = uint32_t(block_[4 * i]) << 24 | uint32_t(block_[4 * i + 1]) << 16 |
             uint32_t(block_[4 * i + 2]) << 8 | uint32_t(block_[4 * i + 3]);
    for (int i = 16; i < 64; ++i) {
      const uint32_t s0 = rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3);
      const uint32_t s1 = rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10);
      w[i] = w[i - 16] + s0 + w[i - 7] + s1;
    }
    auto [a, b, c, d, e, f, g, h] = state_;
    for (int i = 0; i < 64; ++i) {
      const uint32_t t1 =
          h + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + k[i] + w[i];
      const uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
      h = g;
      g = f;
      f = e;
      e = d + t1;
      d = c;
      c = b;
      b = a;
      a = t1 + t2;
    }
    const std::array<uint32_t, 8> add = {a, b, c, d, e, f, g, h};
    for (int i = 0; i < 8; ++i) state_[i] += add[i];
  }

  std::array<uint32_t, 8> state_ = {0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                    0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19};
  std::array<unsigned char, 64> block_{};
  size_t fill_ = 0;
  uint64_t length_ = 0;
};

// NVIDIA's file takes (img, return_features, use_fp16, no_output_bias); plain models (x).
bool has_argument(const torch::jit::Module& module, const std::string& name) {
  const auto& schema = module.get_method("forward").function().getSchema();
  return schema.argumentIndexWithName(name).has_value();
}

}  // namespace

std::string sha256_hex(std::string_view bytes) {
  Sha256 hash;
  hash.update(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  return hash.hex();
}

std::string file_sha256(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TORCH_CHECK(in, "cannot open '", path, "' to compute its SHA-256");
  Sha256 hash;
  std::array<char, 1 << 16> buffer;
  while (in) {
    in.read(buffer.data(), buffer.size());
    hash.update(reinterpret_cast<const unsigned char*>(buffer.data()),
                static_cast<size_t>(in.gcount()));
  }
  return hash.hex();
}

struct InceptionExtractor::Module {
  torch::jit::Module script;
  bool nvidia_interface = false;  // forward has return_features / no_output_bias
};

InceptionExtractor::InceptionExtractor(InceptionOptions options) : options_(std::move(options)) {
  TORCH_CHECK(options_.batch_size >= 1, "Inception batch_size must be >= 1, got ",
              options_.batch_size);
  TORCH_CHECK(options_.resize >= 0, "Inception resize must be >= 0 (0 = native size), got ",
              options_.resize);
  const std::string expected =
      "a TorchScript Inception-v3 (torch.jit.save) whose forward maps images [N, 3, 299, 299] "
      "to pool-3 features [N, 2048], e.g. NVIDIA's inception-2015-12-05.pt";
  TORCH_CHECK(std::ifstream(options_.path).good(), "Inception model file '", options_.path,
              "' does not exist or cannot be read; expected ", expected);
  // A TorchScript module with methods: its zip structure is screened, its code cannot be.
  io::ZipCheckOptions zip;
  zip.attributes_only = false;
  module_ = std::make_shared<Module>();
  try {
    io::verify_zip(options_.path, "Inception model file '" + options_.path + "'", zip);
    module_->script = torch::jit::load(options_.path, torch::kCPU);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "'", options_.path, "' is not a loadable TorchScript file; expected ",
                expected, ". Loader said: ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "'", options_.path, "' is not a loadable TorchScript file; expected ",
                expected, ". Loader said: ", e.what());
  }
  TORCH_CHECK(module_->script.find_method("forward").has_value(), "'", options_.path,
              "' has no forward method; expected ", expected);
  module_->script.eval();
  module_->nvidia_interface = has_argument(module_->script, "return_features");
  sha256_ = file_sha256(options_.path);
  // Probe: one mid-grey image, through the same conversion every batch gets.
  const int64_t side = options_.resize > 0 ? options_.resize : 299;
  try {
    run(torch::zeros({1, 3, side, side}), true);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "running '", options_.path, "' on one ", side, "x", side,
                " image failed; expected ", expected, ". Error: ", e.what_without_backtrace());
  }
}

torch::Tensor InceptionExtractor::prepare(const torch::Tensor& images) const {
  TORCH_CHECK(images.dim() == 4 && (images.size(1) == 1 || images.size(1) == 3),
              "Inception expects images [N, 1 or 3, H, W] in [-1, 1], got shape ", images.sizes());
  auto x = images.to(torch::kCPU, torch::kFloat32);
  if (x.size(1) == 1) x = x.expand({-1, 3, -1, -1});
  switch (options_.input) {
    case InceptionInput::kQuantized:
      // The reference protocols score saved uint8 images: quantise before resizing.
      x = ((x + 1.0) * 127.5).round().clamp(0.0, 255.0);
      break;
    case InceptionInput::kByteRange:
      x = ((x + 1.0) * 127.5).clamp(0.0, 255.0);
      break;
    case InceptionInput::kSigned:
      break;
  }
  if (options_.resize > 0 && (x.size(2) != options_.resize || x.size(3) != options_.resize)) {
    namespace F = torch::nn::functional;
    x = F::interpolate(x, F::InterpolateFuncOptions()
                              .size(std::vector<int64_t>{options_.resize, options_.resize})
                              .mode(torch::kBilinear)
                              .align_corners(false));
  }
  return x.contiguous();
}

torch::Tensor InceptionExtractor::run(const torch::Tensor& images, bool want_features) {
  TORCH_CHECK(images.size(0) > 0, "Inception features of an empty batch");
  torch::NoGradGuard no_grad;
  auto forward = module_->script.get_method("forward");
  std::vector<torch::Tensor> outputs;
  for (int64_t i = 0; i < images.size(0); i += options_.batch_size) {
    const auto x = prepare(images.slice(0, i, std::min(i + options_.batch_size, images.size(0))));
    torch::jit::Kwargs kwargs;
    if (module_->nvidia_interface) {
      if (want_features)
        kwargs["return_features"] = true;
      else
        kwargs["no_output_bias"] = true;
    }
    const auto output = forward({x}, kwargs);
    TORCH_CHECK(output.isTensor(), "'", options_.path, "' returned ", output.tagKind(),
                ", expected a tensor");
    auto y = output.toTensor().to(torch::kCPU, torch::kFloat32);
    if (want_features)
      TORCH_CHECK(y.dim() == 2 && y.size(0) == x.size(0) && y.size(1) == feature_dim(), "'",
                  options_.path, "' returned shape ", y.sizes(), " for ", x.size(0),
                  " images; expected Inception pool-3 features [", x.size(0), ", ", feature_dim(),
                  "]");
    outputs.push_back(y);
  }
  return torch::cat(outputs);
}

torch::Tensor InceptionExtractor::features(const torch::Tensor& images) {
  return run(images, true);
}

torch::Tensor InceptionExtractor::probabilities(const torch::Tensor& images) {
  TORCH_CHECK(module_->nvidia_interface, "'", options_.path,
              "' has no NVIDIA-style "
              "forward(img, return_features, ..., no_output_bias), so it provides features only; "
              "the Inception Score needs class probabilities");
  auto p = run(images, false);
  TORCH_CHECK(p.dim() == 2 && p.size(0) == images.size(0), "'", options_.path, "' returned shape ",
              p.sizes(), " for ", images.size(0), " images; expected class probabilities [N, K]");
  return p;
}

std::string InceptionExtractor::id() const { return "inception-v3:sha256:" + sha256_; }

}  // namespace vgrow::metrics
