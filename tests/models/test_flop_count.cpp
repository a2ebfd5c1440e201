// FLOP counting (vgrow bench's GFLOP/s) against closed forms.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/models/flop_count.h"
#include "vgrow/models/resnet.h"

namespace {

using vgrow::models::forward_flops_per_sample;

double resnet_d_flops(bool fused) {
  torch::manual_seed(0);
  vgrow::models::ResNetDiscriminator d(vgrow::models::ResNetDiscriminatorOptions()
                                           .width(32)
                                           .channels(1)
                                           .fused_resampling(fused));
  d->eval();
  return forward_flops_per_sample([&](int64_t b) { d->forward(torch::zeros({b, 1, 32, 32})); });
}

TEST(FlopCount, ResNetDiscriminatorMatchesItsLayerByLayerSum) {
  // 2 x multiply-adds: block 1 at 32x32 (conv 1->32, conv 32->32, 1x1 shortcut 1->32),
  // block 2 at 16x16 (two 32->32 convs, 1x1 shortcut), blocks 3-4 at 8x8, linear 32->1.
  const double plain = 2.0 * (1024 * 32 * 9 + 1024 * 32 * 32 * 9 + 1024 * 32 +
                              256 * 32 * 32 * 9 * 2 + 256 * 32 * 32 + 4 * 64 * 32 * 32 * 9 + 32);
  EXPECT_DOUBLE_EQ(resnet_d_flops(false), plain);  // 34.2 MFLOP
  // Fused: conv + pool as a 4x4 stride-2 conv at the pooled size, shortcuts after pooling.
  const double fused = 2.0 * (1024 * 32 * 9 + 256 * 32 * 32 * 16 + 256 * 32 +
                              256 * 32 * 32 * 9 + 64 * 32 * 32 * 16 + 64 * 32 * 32 +
                              4 * 64 * 32 * 32 * 9 + 32);
  EXPECT_DOUBLE_EQ(resnet_d_flops(true), fused);  // 20.7 MFLOP
}

TEST(FlopCount, NothingIsCountedWithoutACounterAndCountersNest) {
  vgrow::models::count_flops(5);  // no counter: dropped
  vgrow::models::FlopCounter outer;
  vgrow::models::count_flops(3);
  {
    vgrow::models::FlopCounter inner;
    vgrow::models::count_flops(4);
    EXPECT_EQ(inner.flops(), 4);
  }
  EXPECT_EQ(outer.flops(), 3);
}

}  // namespace
