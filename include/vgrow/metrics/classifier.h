#pragma once
// A small CNN trained on the dataset itself, used as a feature extractor for FID, KID and
// precision/recall and as the class-probability model of the authors' "Inception Score"
// (they used a PreActResNet-18 trained on the dataset; paper section 3).

#include <torch/nn/cloneable.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>
#include <torch/types.h>

#include <cstdint>
#include <functional>
#include <stdexcept>
#include <string>

#include "vgrow/metrics/feature_extractor.h"

namespace vgrow::metrics {

struct ClassifierOptions {
  TORCH_ARG(int64_t, in_channels) = 1;
  TORCH_ARG(int64_t, num_classes) = 10;
  TORCH_ARG(int64_t, width) = 32;  // channels of the first stage; then 2x and 4x
};

// conv(w)-BN-ReLU-conv(w)-BN-ReLU-maxpool-conv(2w)-BN-ReLU-conv(2w)-BN-ReLU-maxpool-
// conv(4w)-BN-ReLU-global average pool -> 4w features -> linear(num_classes).
// Input [N, C, H, W] in [-1, 1]; any H, W >= 4 (28 and 32 are the datasets' sizes).
class ClassifierImpl : public torch::nn::Cloneable<ClassifierImpl> {
 public:
  explicit ClassifierImpl(ClassifierOptions options = {});
  void reset() override;
  torch::Tensor features(const torch::Tensor& x);  // penultimate layer, [N, feature_dim()]
  torch::Tensor forward(const torch::Tensor& x);   // logits, [N, num_classes]
  int64_t feature_dim() const { return 4 * options.width(); }

  ClassifierOptions options;

 private:
  torch::nn::Sequential body_{nullptr};
  torch::nn::Linear head_{nullptr};
};
TORCH_MODULE(Classifier);

struct LabelledImages {
  torch::Tensor images;  // float [N, C, H, W] in [-1, 1]
  torch::Tensor labels;  // int64 [N] in [0, num_classes)
};

// What one training epoch did, for whoever shows progress.
struct ClassifierEpoch {
  int64_t epoch = 0;  // 1-based
  int64_t epochs = 0;
  double loss = 0.0;            // mean training cross-entropy
  double train_accuracy = 0.0;  // in [0, 1], on the augmented batches as trained
  double test_accuracy = 0.0;   // in [0, 1]
  double seconds = 0.0;
};

struct ClassifierTrainOptions {
  ClassifierOptions model;  // in_channels is taken from the images
  int64_t epochs = 10;
  int64_t batch_size = 128;
  double lr = 1e-3;              // Adam
  bool cosine_decay = true;      // lr follows a half cosine to 0 over all steps
  uint64_t seed = 0;             // initialisation (global torch seed), shuffling, flips
  bool horizontal_flip = false;  // a valid augmentation for clothes, not for digits
  int64_t threads = 0;           // torch::set_num_threads when > 0
  std::function<void(const ClassifierEpoch&)> on_epoch;  // after each epoch, when set
};

struct ClassifierTrainResult {
  Classifier model{nullptr};
  double test_accuracy = 0.0;  // in [0, 1], after the last epoch
};

ClassifierTrainResult train_classifier(const LabelledImages& train, const LabelledImages& test,
                                       const ClassifierTrainOptions& options = {});

// Share of correctly classified images, evaluated in eval mode, batch_size at a time.
double classifier_accuracy(Classifier& model, const LabelledImages& data, int64_t batch_size = 512);

struct ClassifierMetadata {
  std::string dataset;     // e.g. "fashion-mnist"
  double accuracy = 0.0;   // test accuracy in [0, 1]
  int64_t image_size = 0;  // H = W the classifier was trained on; 0 = unchecked
};

struct LoadedClassifier {
  Classifier model{nullptr};
  ClassifierMetadata metadata;
};

// A classifier file that does not exist. Its own type so that a caller can say how to
// make one (the CLI names `vgrow classifier train`).
class ClassifierNotFound : public std::runtime_error {
 public:
  ClassifierNotFound(std::string path, std::string dataset, const std::string& message)
      : std::runtime_error(message), path(std::move(path)), dataset(std::move(dataset)) {}
  std::string path;     // the missing file
  std::string dataset;  // what it should classify; empty when the caller does not know
};

// One file holding the architecture options, the metadata and the weights. Loading a file
// that does not exist throws ClassifierNotFound.
void save_classifier(const std::string& path, const Classifier& model,
                     const ClassifierMetadata& metadata);
LoadedClassifier load_classifier(const std::string& path);

// The classifier `vgrow eval` and eval.metrics use for `dataset` when none is named: the first
// of $VGROW_CLASSIFIER_DIR/<dataset>.pt, classifiers/<dataset>.pt (one you trained, relative
// to the working folder), and the classifier shipped with vgrow (share/vgrow/classifiers of
// an installed vgrow, else the source tree's share/classifiers) that exists. With none,
// classifiers/<dataset>.pt: where `vgrow classifier train` puts one.
std::string default_classifier_file(const std::string& dataset);

// The classifier as a FeatureExtractor: features() is the penultimate layer, probabilities()
// the softmax of the logits; both in eval mode without gradients, batch_size at a time.
// Images of another size than the classifier's are resized bilinearly (align_corners false).
class ClassifierExtractor : public FeatureExtractor {
 public:
  ClassifierExtractor(Classifier model, ClassifierMetadata metadata, std::string sha256 = {},
                      int64_t batch_size = 500);
  // Loads a save_classifier file; id() then carries the file's SHA-256.
  static ClassifierExtractor from_file(const std::string& path, int64_t batch_size = 500);

  torch::Tensor features(const torch::Tensor& images) override;
  torch::Tensor probabilities(const torch::Tensor& images) override;
  int64_t feature_dim() const override { return model_->feature_dim(); }
  std::string id() const override;  // "classifier:<dataset>[:sha256:<hex>]"
  const ClassifierMetadata& metadata() const { return metadata_; }

 private:
  torch::Tensor run(const torch::Tensor& images, bool want_features);

  Classifier model_;
  ClassifierMetadata metadata_;
  std::string sha256_;
  int64_t batch_size_;
};

}  // namespace vgrow::metrics
