#pragma once
// Checks on whole networks shared by the layer test binaries.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "gradcheck.hpp"
#include "nntune/loss.hpp"
#include "nntune/network.hpp"
#include "nntune/tensor.hpp"

namespace nntune::testing {

// A network rebuilt from `net`'s config (with another seed), given `net`'s parameters and state,
// computes the same inference outputs for `x` to the bit: the config says everything a layer is.
inline void expect_rebuilt_network_computes_the_same(Network& net, const Tensor& x) {
  Rng other(77);
  Network copy = Network::from_config(net.config(), other);
  copy.parameters() = net.parameters();
  copy.set_state(net.state());
  const Tensor& a = net.forward(x, ForwardContext{false, nullptr});
  const std::vector<float> expected(a.data(), a.data() + a.size());
  const Tensor& b = copy.forward(x, ForwardContext{false, nullptr});
  EXPECT_EQ(std::vector<float>(b.data(), b.data() + b.size()), expected);
}

// The gradient of `loss_name` through the whole network (training mode, the same dropout masks in
// every pass) against finite differences of every parameter.
inline BlockCheck check_network_gradients(Network& net, const Tensor& x, const Tensor& y, const std::string& loss_name) {
  auto loss = make_loss(loss_name);
  auto loss_value = [&](Tensor* grad) {
    Rng rng(8);  // the same dropout masks every pass
    return loss->forward_backward(net.forward(x, ForwardContext{true, &rng}), y, grad);
  };
  Tensor grad;
  loss_value(&grad);
  net.backward(grad);
  const std::vector<double> analytic(net.gradients().begin(), net.gradients().end());
  return detail::check_block("parameters", net.parameters().data(), net.num_params(), analytic,
                             [&] { return loss_value(nullptr); }, GradCheckOptions{});
}

}  // namespace nntune::testing
