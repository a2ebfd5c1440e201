// 2-D points from a CSV file (data.dataset = csv).

#include <c10/util/Exception.h>

#include "temp_input.h"
#include "vgrow/data/csv_points.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("points.csv");
  try {
    vgrow::data::load_csv_points(input.write(data, size));
  } catch (const c10::Error&) {
  }
  return 0;
}
