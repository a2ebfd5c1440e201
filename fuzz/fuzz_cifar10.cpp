// CIFAR-10 binary batches.

#include <c10/util/Exception.h>

#include "temp_input.h"
#include "vgrow/data/cifar10.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("data_batch.bin");
  try {
    vgrow::data::read_cifar10_batch(input.write(data, size));
  } catch (const c10::Error&) {
  }
  return 0;
}
