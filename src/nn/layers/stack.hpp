#pragma once
// A layer made of layers run one after another, seen from outside as one layer of one kind and
// config: `{type: lstm, units: 64, layers: 3, dropout: 0.2}` is three lstm layers (all but the
// last returning sequences) with dropout between them, as PyTorch's nn.LSTM(num_layers,
// dropout). The children's parameter blocks are this layer's, prefixed "layerI_" (so the
// network's flat buffers, optimisers, penalties and the model file see them as usual).
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "nntune/layer.hpp"

namespace nntune::layers {

// `config` is what config() returns (enough to rebuild the stack with make_layer).
std::unique_ptr<Layer> make_stack(std::string kind, nlohmann::json config, std::vector<std::unique_ptr<Layer>> children);

// The children of a stack, their blocks bound to the stack's; empty for any other layer.
std::vector<const Layer*> stacked_children(const Layer& layer);

}  // namespace nntune::layers
