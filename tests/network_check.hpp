#pragma once
// Checks on whole networks shared by the layer test binaries.
#include <gtest/gtest.h>

#include <vector>

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

}  // namespace nntune::testing
