#include "vgrow/metrics/classifier.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdlib>
#include <cmath>
#include <filesystem>
#include <numbers>

#include "vgrow/metrics/inception.h"
#include "vgrow/io/zip_check.h"
#include "vgrow/support/threads.h"

namespace vgrow::metrics {

namespace {

constexpr const char* kFormat = "vgrow-classifier-v1";

void add_conv_bn_relu(torch::nn::Sequential& body, int64_t in, int64_t out) {
  // No conv bias: the batch norm right after it has its own shift.
  body->push_back(torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 3).padding(1).bias(false)));
  body->push_back(torch::nn::BatchNorm2d(out));
  body->push_back(torch::nn::ReLU());
}

void check_images(const LabelledImages& data, const char* name, int64_t num_classes) {
  TORCH_CHECK(data.images.dim() == 4 && data.images.is_floating_point(), name,
              " images must be float [N, C, H, W], got ", data.images.scalar_type(), " ",
              data.images.sizes());
  TORCH_CHECK(data.labels.dim() == 1 && data.labels.scalar_type() == torch::kInt64 &&
                  data.labels.size(0) == data.images.size(0),
              name, " labels must be int64 [", data.images.size(0), "], got ",
              data.labels.scalar_type(), " ", data.labels.sizes());
  TORCH_CHECK(data.images.size(0) > 0, name, " set is empty");
  const auto low = data.labels.min().item<int64_t>(), high = data.labels.max().item<int64_t>();
  TORCH_CHECK(low >= 0 && high < num_classes, name, " labels must lie in [0, ", num_classes,
              "), got [", low, ", ", high, "]");
}

void set_lr(torch::optim::Adam& optimizer, double lr) {
  for (auto& group : optimizer.param_groups())
    static_cast<torch::optim::AdamOptions&>(group.options()).lr(lr);
}

}  // namespace

ClassifierImpl::ClassifierImpl(ClassifierOptions options_) : options(std::move(options_)) {
  reset();
}

void ClassifierImpl::reset() {
  const int64_t w = options.width();
  TORCH_CHECK(options.in_channels() >= 1 && w >= 1 && options.num_classes() >= 2,
              "classifier needs in_channels >= 1, width >= 1 and num_classes >= 2; got ",
              options.in_channels(), ", ", w, ", ", options.num_classes());
  torch::nn::Sequential body;
  add_conv_bn_relu(body, options.in_channels(), w);
  add_conv_bn_relu(body, w, w);
  body->push_back(torch::nn::MaxPool2d(2));
  add_conv_bn_relu(body, w, 2 * w);
  add_conv_bn_relu(body, 2 * w, 2 * w);
  body->push_back(torch::nn::MaxPool2d(2));
  add_conv_bn_relu(body, 2 * w, 4 * w);
  body->push_back(torch::nn::AdaptiveAvgPool2d(1));
  body->push_back(torch::nn::Flatten());
  body_ = register_module("body", body);
  head_ = register_module("head", torch::nn::Linear(4 * w, options.num_classes()));
}

torch::Tensor ClassifierImpl::features(const torch::Tensor& x) {
  TORCH_CHECK(
      x.dim() == 4 && x.size(1) == options.in_channels() && x.size(2) >= 4 && x.size(3) >= 4,
      "classifier expects images [N, ", options.in_channels(), ", H >= 4, W >= 4], got shape ",
      x.sizes());
  return body_->forward(x);
}

torch::Tensor ClassifierImpl::forward(const torch::Tensor& x) {
  return head_->forward(features(x));
}

double classifier_accuracy(Classifier& model, const LabelledImages& data, int64_t batch_size) {
  check_images(data, "evaluation", model->options.num_classes());
  TORCH_CHECK(batch_size >= 1, "batch_size must be >= 1, got ", batch_size);
  torch::NoGradGuard no_grad;
  const bool was_training = model->is_training();
  model->eval();
  int64_t correct = 0;
  const int64_t n = data.images.size(0);
  for (int64_t i = 0; i < n; i += batch_size) {
    const auto end = std::min(i + batch_size, n);
    const auto predicted = model->forward(data.images.slice(0, i, end)).argmax(1);
    correct += predicted.eq(data.labels.slice(0, i, end)).sum().item<int64_t>();
  }
  model->train(was_training);
  return static_cast<double>(correct) / static_cast<double>(n);
}

ClassifierTrainResult train_classifier(const LabelledImages& train, const LabelledImages& test,
                                       const ClassifierTrainOptions& options) {
  const auto arch = ClassifierOptions(options.model).in_channels(train.images.size(1));
  check_images(train, "training", arch.num_classes());
  check_images(test, "test", arch.num_classes());
  TORCH_CHECK(test.images.sizes().slice(1) == train.images.sizes().slice(1), "test images ",
              test.images.sizes(), " differ in shape from training images ", train.images.sizes());
  TORCH_CHECK(options.epochs >= 1 && options.batch_size >= 1 && options.lr > 0.0,
              "classifier training needs epochs >= 1, batch_size >= 1, lr > 0; got ",
              options.epochs, ", ", options.batch_size, ", ", options.lr);
  if (options.threads > 0) set_compute_threads(static_cast<int>(options.threads));

  torch::manual_seed(options.seed);
  Classifier model(arch);
  torch::optim::Adam optimizer(model->parameters(), torch::optim::AdamOptions(options.lr));
  auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
  const int64_t n = train.images.size(0);
  const int64_t steps_per_epoch = (n + options.batch_size - 1) / options.batch_size;
  const double total_steps = static_cast<double>(options.epochs * steps_per_epoch);
  int64_t step = 0;
  ClassifierTrainResult result;
  for (int64_t epoch = 1; epoch <= options.epochs; ++epoch) {
    const auto start = std::chrono::steady_clock::now();
    model->train();
    const auto order = torch::randperm(n, generator);
    double loss_sum = 0.0;
    int64_t correct = 0;
    for (int64_t i = 0; i < n; i += options.batch_size, ++step) {
      if (options.cosine_decay)
        set_lr(optimizer,
               options.lr * 0.5 * (1.0 + std::cos(std::numbers::pi * step / total_steps)));
      const auto rows = order.slice(0, i, std::min(i + options.batch_size, n));
      auto x = train.images.index_select(0, rows);
      const auto y = train.labels.index_select(0, rows);
      if (options.horizontal_flip) {
        const auto flip = torch::rand({x.size(0)}, generator).lt(0.5).view({-1, 1, 1, 1});
        x = torch::where(flip, x.flip({3}), x);
      }
      const auto logits = model->forward(x);
      const auto loss = torch::nn::functional::cross_entropy(logits, y);
      optimizer.zero_grad();
      loss.backward();
      optimizer.step();
      loss_sum += loss.item<double>() * static_cast<double>(x.size(0));
      correct += logits.argmax(1).eq(y).sum().item<int64_t>();
    }
    result.test_accuracy = classifier_accuracy(model, test);
    if (options.on_epoch) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - start;
      options.on_epoch({epoch, options.epochs, loss_sum / static_cast<double>(n),
                        static_cast<double>(correct) / static_cast<double>(n),
                        result.test_accuracy, took.count()});
    }
  }
  model->eval();
  result.model = model;
  return result;
}

void save_classifier(const std::string& path, const Classifier& model,
                     const ClassifierMetadata& metadata) {
  TORCH_CHECK(!model.is_empty(), "cannot save an empty classifier to ", path);
  torch::serialize::OutputArchive archive, weights;
  model->save(weights);
  archive.write("format", c10::IValue(std::string(kFormat)));
  archive.write("in_channels", c10::IValue(model->options.in_channels()));
  archive.write("num_classes", c10::IValue(model->options.num_classes()));
  archive.write("width", c10::IValue(model->options.width()));
  archive.write("dataset", c10::IValue(metadata.dataset));
  archive.write("accuracy", c10::IValue(metadata.accuracy));
  archive.write("image_size", c10::IValue(metadata.image_size));
  archive.write("weights", weights);
  archive.save_to(path);
}

LoadedClassifier load_classifier(const std::string& path) {
  if (!std::filesystem::exists(path)) {
    throw ClassifierNotFound(path, "", "the classifier file '" + path + "' does not exist");
  }
  // Code-like input (LibTorch compiles its TorchScript): screened before LibTorch sees it,
  // and every way LibTorch's loader fails becomes one error naming the file.
  torch::serialize::InputArchive archive;
  try {
    io::verify_zip(path, "classifier file '" + path + "'");
    archive.load_from(path);
  } catch (const c10::Error& e) {
    TORCH_CHECK(false, "cannot read a classifier from '", path,
                "' (expected a file written by save_classifier): ", e.what_without_backtrace());
  } catch (const std::exception& e) {
    TORCH_CHECK(false, "cannot read a classifier from '", path,
                "' (expected a file written by save_classifier): ", e.what());
  }
  c10::IValue format;
  TORCH_CHECK(
      archive.try_read("format", format) && format.isString() && format.toStringRef() == kFormat,
      "'", path, "' is not a ", kFormat, " file");
  auto read = [&](const char* key) {
    c10::IValue value;
    archive.read(key, value);
    return value;
  };
  LoadedClassifier loaded;
  loaded.model = Classifier(ClassifierOptions()
                                .in_channels(read("in_channels").toInt())
                                .num_classes(read("num_classes").toInt())
                                .width(read("width").toInt()));
  loaded.metadata.dataset = read("dataset").toStringRef();
  loaded.metadata.accuracy = read("accuracy").toDouble();
  loaded.metadata.image_size = read("image_size").toInt();
  torch::serialize::InputArchive weights;
  archive.read("weights", weights);
  loaded.model->load(weights);
  loaded.model->eval();
  return loaded;
}

ClassifierExtractor::ClassifierExtractor(Classifier model, ClassifierMetadata metadata,
                                         std::string sha256, int64_t batch_size)
    : model_(std::move(model)),
      metadata_(std::move(metadata)),
      sha256_(std::move(sha256)),
      batch_size_(batch_size) {
  TORCH_CHECK(!model_.is_empty(), "classifier extractor needs a classifier");
  TORCH_CHECK(batch_size_ >= 1, "batch_size must be >= 1, got ", batch_size_);
}

ClassifierExtractor ClassifierExtractor::from_file(const std::string& path, int64_t batch_size) {
  auto loaded = load_classifier(path);
  return ClassifierExtractor(loaded.model, loaded.metadata, file_sha256(path), batch_size);
}

torch::Tensor ClassifierExtractor::run(const torch::Tensor& images, bool want_features) {
  TORCH_CHECK(images.dim() == 4 && images.size(1) == model_->options.in_channels(), "classifier '",
              metadata_.dataset, "' expects images [N, ", model_->options.in_channels(),
              ", H, W], got shape ", images.sizes());
  TORCH_CHECK(images.size(0) > 0, "classifier features of an empty batch");
  torch::NoGradGuard no_grad;
  model_->eval();
  std::vector<torch::Tensor> outputs;
  for (int64_t i = 0; i < images.size(0); i += batch_size_) {
    auto x = images.slice(0, i, std::min(i + batch_size_, images.size(0)))
                 .to(torch::kCPU, torch::kFloat32);
    // Images of another size (a 32x32 generator, a 28x28 classifier) are resized the way
    // data::resize_images enlarges: bilinear, align_corners = false.
    const int64_t want = metadata_.image_size;
    if (want > 0 && (x.size(2) != want || x.size(3) != want)) {
      x = torch::nn::functional::interpolate(
          x, torch::nn::functional::InterpolateFuncOptions()
                 .size(std::vector<int64_t>{want, want})
                 .mode(torch::kBilinear)
                 .align_corners(false));
    }
    outputs.push_back(want_features ? model_->features(x) : torch::softmax(model_->forward(x), 1));
  }
  return torch::cat(outputs);
}

torch::Tensor ClassifierExtractor::features(const torch::Tensor& images) {
  return run(images, true);
}

torch::Tensor ClassifierExtractor::probabilities(const torch::Tensor& images) {
  return run(images, false);
}

std::string ClassifierExtractor::id() const {
  return "classifier:" + metadata_.dataset + (sha256_.empty() ? "" : ":sha256:" + sha256_);
}

std::string default_classifier_file(const std::string& dataset) {
  namespace fs = std::filesystem;
  const auto name = dataset + ".pt";
  std::vector<fs::path> candidates;
  if (const char* dir = std::getenv("VGROW_CLASSIFIER_DIR"); dir && *dir) {
    candidates.push_back(fs::path(dir) / name);
  }
  candidates.push_back(fs::path("classifiers") / name);
  std::error_code ec;
  const auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    candidates.push_back(exe.parent_path().parent_path() / "share" / "vgrow" / "classifiers" / name);
  }
#ifdef VGROW_SHIPPED_CLASSIFIER_DIR
  candidates.push_back(fs::path(VGROW_SHIPPED_CLASSIFIER_DIR) / name);
#endif
  for (const auto& file : candidates) {
    if (fs::is_regular_file(file, ec)) return file.string();
  }
  return (fs::path("classifiers") / name).string();
}

}  // namespace vgrow::metrics
