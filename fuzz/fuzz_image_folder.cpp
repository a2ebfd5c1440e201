// One image file in an image folder (data.dataset = folder): decoded, converted to grey and
// to RGB, cropped and resized; and the same bytes through io::read_png.

#include <c10/util/Exception.h>

#include "temp_input.h"
#include "vgrow/data/image_folder.h"
#include "vgrow/io/png.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static vgrow::fuzz::TempInput input("image.png");
  const auto& path = input.write(data, size);
  for (int64_t channels : {1, 3}) {
    try {
      vgrow::data::load_image_folder(input.dir(), {.image_size = 8, .channels = channels});
    } catch (const c10::Error&) {
    }
  }
  try {
    vgrow::io::read_png(path);
  } catch (const c10::Error&) {
  }
  return 0;
}
