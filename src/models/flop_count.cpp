#include "vgrow/models/flop_count.h"

#include <torch/torch.h>

namespace vgrow::models {
namespace {
thread_local FlopCounter* g_counter = nullptr;
}  // namespace

FlopCounter::FlopCounter() : outer_(g_counter) { g_counter = this; }
FlopCounter::~FlopCounter() { g_counter = outer_; }

void count_flops(double flops) {
  if (g_counter) g_counter->flops_ += flops;
}

void count_conv(const torch::Tensor& output, int64_t in_channels_per_group, int64_t kh,
                int64_t kw) {
  if (g_counter) count_flops(2.0 * output.numel() * in_channels_per_group * kh * kw);
}

void count_conv_transpose(const torch::Tensor& input, int64_t out_channels, int64_t kh,
                          int64_t kw) {
  if (g_counter) count_flops(2.0 * input.numel() * out_channels * kh * kw);
}

void count_linear(const torch::Tensor& output, int64_t in_features) {
  if (g_counter) count_flops(2.0 * output.numel() * in_features);
}

double forward_flops_per_sample(const std::function<void(int64_t)>& forward, int64_t batch) {
  torch::NoGradGuard no_grad;
  FlopCounter counter;
  forward(batch);
  return counter.flops() / static_cast<double>(batch);
}

}  // namespace vgrow::models
