// Classifier files (save_classifier; what `vgrow eval` and in-training scores load): loaded,
// then run on one small image as the feature extractor does.

#include <c10/util/Exception.h>
#include <torch/torch.h>

#include "temp_input.h"
#include "vgrow/metrics/classifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("classifier.pt");
  const auto& path = input.write(data, size);
  try {
    const auto loaded = vgrow::metrics::load_classifier(path.string());
    vgrow::metrics::ClassifierExtractor extractor(loaded.model, loaded.metadata);
    extractor.probabilities(torch::zeros({1, loaded.model->options.in_channels(), 8, 8}));
  } catch (const c10::Error&) {
  }
  return 0;
}
