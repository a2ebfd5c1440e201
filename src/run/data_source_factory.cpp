#include <torch/torch.h>

#include "vgrow/data/csv_points.h"
#include "vgrow/data/image_dataset.h"
#include "vgrow/data/toy2d.h"
#include "vgrow/run/experiment.h"

namespace vgrow {

data::ImageDatasetOptions image_dataset_options(const Config& c, const std::string& split) {
  data::ImageDatasetOptions o;
  o.kind = c.data.dataset;
  o.path = c.data.path;
  o.split = split;
  o.image_size = c.data.image_size;
  o.channels = 3;
  o.limit = split == "train" ? c.data.limit : 0;
  return o;
}

std::shared_ptr<data::RealSource> make_data_source(const Config& c) {
  if (c.data.dataset == "toy") return std::make_shared<data::Toy2DSource>(c.data.target);
  if (c.data.dataset == "csv") return std::make_shared<data::PointCloudSource>(c.data.path);
  return std::make_shared<data::ImageSource>(
      data::load_image_dataset(image_dataset_options(c, "train")));
}

}  // namespace vgrow
