#pragma once
// Inception-v3 pool-3 features (2048-d) from a user-supplied TorchScript file. Standard
// weights cannot be bundled or downloaded here (paper section 3); NVIDIA's
// inception-2015-12-05.pt, a translation of the TF graph the FID papers used, is one such file.
//
// What the model sees, by default (InceptionInput::kQuantized, resize = 299): images in
// [-1, 1] are mapped to [0, 255] and rounded to integers at their native resolution (the
// PNG/uint8 images the reference protocols score), grayscale is repeated to 3 channels,
// then they are resized to 299x299 bilinearly (align_corners = false, no antialiasing) and
// passed as float32 NCHW. NVIDIA's file resizes internally with this same interpolation,
// which is the identity at 299, so the features match stylegan2-ada/clean-fid "legacy"
// features. Models whose forward has a `return_features` argument (NVIDIA's) are called with
// return_features = true; other models must return [N, 2048] from forward(x).

#include <torch/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "vgrow/metrics/feature_extractor.h"

namespace vgrow::metrics {

enum class InceptionInput {
  kQuantized,  // round((x + 1) * 127.5) in [0, 255], float32: NVIDIA's and clean-fid's input
  kByteRange,  // (x + 1) * 127.5 in [0, 255] without rounding
  kSigned,     // x unchanged in [-1, 1], for models that expect that range
};

struct InceptionOptions {
  std::string path;  // TorchScript file (torch.jit.save)
  InceptionInput input = InceptionInput::kQuantized;
  int64_t resize = 299;     // H = W handed to the model; 0 keeps the native size
  int64_t batch_size = 50;  // images per forward pass
};

class InceptionExtractor : public FeatureExtractor {
 public:
  // Loads the file and runs one probe image, so a missing file, a file that is not
  // TorchScript or a model without [N, 2048] output fails here with a message.
  explicit InceptionExtractor(InceptionOptions options);

  torch::Tensor features(const torch::Tensor& images) override;
  // Needs NVIDIA's interface: forward(x, no_output_bias = true) returns softmax
  // probabilities [N, 1008], as the stylegan2-ada IS implementation calls it.
  torch::Tensor probabilities(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return 2048; }
  std::string id() const override;  // "inception-v3:sha256:<hex>"
  const std::string& sha256() const { return sha256_; }

  // The exact tensor one batch hands to the model (conversion, channels, resize).
  torch::Tensor prepare(const torch::Tensor& images) const;

 private:
  struct Module;
  torch::Tensor run(const torch::Tensor& images, bool want_features);

  InceptionOptions options_;
  std::shared_ptr<Module> module_;
  std::string sha256_;
};

// SHA-256 as 64 lowercase hex digits, of a byte string and of a file's contents (to record
// exactly which weights produced a score).
std::string sha256_hex(std::string_view bytes);
std::string file_sha256(const std::string& path);

}  // namespace vgrow::metrics
