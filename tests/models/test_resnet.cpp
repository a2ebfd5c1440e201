// The ResNet blocks against a literal port of the authors' network.py (xjtuygao/VGrow):
// ResBlock_G, G_resnet, ResBlock_D and D_resnet, written here op for op, in place where they
// are in place. Their nn.ReLU(True) at the start of a block overwrites the block's input, so
// the shortcut carries relu(x): model.shortcut_after_relu = true is that code as it runs, and
// false is the same code with out-of-place ReLUs (the shortcut then carries x).
#include <gtest/gtest.h>
#include <torch/torch.h>

#include "vgrow/models/resnet.h"
#include "vgrow/models/spectral_norm.h"

namespace {

using namespace vgrow::models;
namespace F = torch::nn::functional;

// The weights our modules apply (spectral norm included), looked up by module name.
struct Weights {
  torch::nn::Module& net;
  torch::Tensor conv(const std::string& name) const {
    return find(name)->as<SNConv2dImpl>()->effective_weight();
  }
  std::pair<torch::Tensor, torch::Tensor> linear(const std::string& name) const {
    auto* l = find(name)->as<SNLinearImpl>();
    return {l->effective_weight(), l->bias};
  }
  torch::Tensor batch_norm(const std::string& name, const torch::Tensor& x) const {
    auto* bn = find(name)->as<torch::nn::BatchNorm2dImpl>();
    return torch::batch_norm(x, bn->weight, bn->bias, bn->running_mean, bn->running_var,
                             /*training=*/false, 0.1, 1e-5, /*cudnn_enabled=*/false);
  }
  std::shared_ptr<torch::nn::Module> find(const std::string& name) const {
    for (const auto& item : net.named_modules()) {
      if (item.key() == name) return item.value();
    }
    ADD_FAILURE() << "no module " << name;
    return nullptr;
  }
};

torch::Tensor relu(torch::Tensor x, bool in_place) { return in_place ? x.relu_() : torch::relu(x); }
torch::Tensor conv(const torch::Tensor& x, const torch::Tensor& w) {
  return F::conv2d(x, w, F::Conv2dFuncOptions().padding(w.size(-1) / 2));
}
torch::Tensor interpolate2(const torch::Tensor& x) {
  return F::interpolate(x, F::InterpolateFuncOptions()
                               .scale_factor(std::vector<double>{2.0, 2.0})
                               .mode(torch::kNearest));
}

// ResBlock_G.forward with up=True; `x` may be overwritten, as in theirs.
torch::Tensor res_block_g(const Weights& w, const std::string& p, torch::Tensor x, bool in_place) {
  auto out = interpolate2(relu(x, in_place));  // SubBlock1, then F.interpolate
  auto shortcut = conv(interpolate2(x), w.conv(p + ".shortcut"));
  out = conv(relu(w.batch_norm(p + ".bn", conv(out, w.conv(p + ".conv1"))), in_place),
             w.conv(p + ".conv2"));  // SubBlock2
  out += shortcut;
  return out;
}

torch::Tensor g_resnet(const Weights& w, const torch::Tensor& z, int64_t ngf, bool in_place) {
  const auto [weight, bias] = w.linear("linear");
  auto out = F::linear(z, weight, bias);
  out = res_block_g(w, "blocks.0", out.view({-1, ngf, 4, 4}), in_place);
  out = res_block_g(w, "blocks.1", out, in_place);
  out = res_block_g(w, "blocks.2", out, in_place);
  return torch::tanh(conv(relu(out, in_place), w.conv("to_image")));  // block4
}

// ResBlock_D.forward.
torch::Tensor res_block_d(const Weights& w, const std::string& p, torch::Tensor x, bool down,
                          bool first, bool in_place) {
  auto out = first ? x : relu(x, in_place);
  out = conv(out, w.conv(p + ".conv1"));
  out = relu(out, in_place);
  out = conv(out, w.conv(p + ".conv2"));
  torch::Tensor shortcut;
  if (down) {
    out = torch::avg_pool2d(out, 2, 2);
    shortcut = torch::avg_pool2d(conv(x, w.conv(p + ".shortcut")), 2, 2);
  } else {
    shortcut = x;
  }
  out += shortcut;
  return out;
}

torch::Tensor d_resnet(const Weights& w, const torch::Tensor& x, bool in_place) {
  auto out = res_block_d(w, "blocks.0", x.clone(), true, true, in_place);
  out = res_block_d(w, "blocks.1", out, true, false, in_place);
  out = res_block_d(w, "blocks.2", out, false, false, in_place);
  out = res_block_d(w, "blocks.3", out, false, false, in_place);
  out = relu(out, in_place).sum(-1).sum(-1);
  const auto [weight, bias] = w.linear("linear");
  return F::linear(out, weight, bias).view({-1, 1}).squeeze();
}

class ResNetLiteral : public ::testing::TestWithParam<std::tuple<bool, bool>> {};

TEST_P(ResNetLiteral, GeneratorEqualsTheAuthorsCode) {
  const auto [after_relu, fused] = GetParam();
  torch::manual_seed(1);
  ResNetGenerator g(ResNetGeneratorOptions()
                        .latent_dim(16).width(8).channels(3).image_size(32)
                        .power_iterations(1).shortcut_after_relu(after_relu)
                        .fused_resampling(fused));
  g->eval();
  torch::NoGradGuard no_grad;
  // Biases and BN shifts away from their zero init, so every term shows.
  for (auto& p : g->parameters()) p.add_(0.05 * torch::randn_like(p));
  const auto z = torch::randn({5, 16});
  const Weights w{*g};
  const auto ours = g->forward(z);
  EXPECT_TRUE(torch::allclose(ours, g_resnet(w, z, 8, /*in_place=*/after_relu), 1e-5, 1e-6));
  // The toggle matters: the other reading of their code gives other images.
  EXPECT_FALSE(torch::allclose(ours, g_resnet(w, z, 8, /*in_place=*/!after_relu), 1e-4, 1e-5));
}

TEST_P(ResNetLiteral, DiscriminatorEqualsTheAuthorsCode) {
  const auto [after_relu, fused] = GetParam();
  torch::manual_seed(2);
  ResNetDiscriminator d(ResNetDiscriminatorOptions()
                            .width(8).channels(3).image_size(32)
                            .power_iterations(1).shortcut_after_relu(after_relu)
                            .fused_resampling(fused));
  d->eval();
  torch::NoGradGuard no_grad;
  for (auto& p : d->parameters()) p.add_(0.05 * torch::randn_like(p));
  const auto x = torch::randn({5, 3, 32, 32});
  const Weights w{*d};
  const auto ours = d->forward(x);
  EXPECT_TRUE(torch::allclose(ours, d_resnet(w, x, /*in_place=*/after_relu), 1e-5, 1e-6));
  EXPECT_FALSE(torch::allclose(ours, d_resnet(w, x, /*in_place=*/!after_relu), 1e-4, 1e-5));
}

INSTANTIATE_TEST_SUITE_P(ShortcutAfterReluAndFusedResampling, ResNetLiteral,
                         ::testing::Combine(::testing::Bool(), ::testing::Bool()));

}  // namespace
