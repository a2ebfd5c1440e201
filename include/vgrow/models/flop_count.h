#pragma once
// Counting the arithmetic of vgrow's models: while a FlopCounter is alive on a thread, every
// convolution and linear layer in models/ adds 2 x its multiply-adds (one multiply, one add)
// for the forward it runs. `vgrow bench` turns that into model FLOPs per outer loop and
// achieved GFLOP/s. Elementwise work (activations, norms, pooling) is not counted.

#include <functional>

#include <torch/types.h>

namespace vgrow::models {

class FlopCounter {
 public:
  FlopCounter();
  ~FlopCounter();
  FlopCounter(const FlopCounter&) = delete;
  FlopCounter& operator=(const FlopCounter&) = delete;
  double flops() const { return flops_; }

 private:
  friend void count_flops(double);
  double flops_ = 0;
  FlopCounter* outer_;
};

// Adds to the innermost live counter of this thread; a no-op when there is none.
void count_flops(double flops);

// conv2d: output [N, O, H, W] from C / groups input channels and a kh x kw kernel.
void count_conv(const torch::Tensor& output, int64_t in_channels_per_group, int64_t kh, int64_t kw);
// conv_transpose2d: every input pixel meets O x kh x kw weights.
void count_conv_transpose(const torch::Tensor& input, int64_t out_channels, int64_t kh,
                          int64_t kw);
// linear: output [..., out] from `in_features` inputs.
void count_linear(const torch::Tensor& output, int64_t in_features);

// Forward FLOPs per sample of `forward(batch)` (called once, without gradients).
double forward_flops_per_sample(const std::function<void(int64_t batch)>& forward,
                                int64_t batch = 2);

}  // namespace vgrow::models
