#pragma once
// ONNX export of a trained model: the scaler, every layer and the output link (softmax for
// categorical cross-entropy, sigmoid for binary cross-entropy, none for mse) in one graph, so
// the ONNX model takes the raw features nntune's predict takes and returns what it returns
// (class probabilities or values). An ensemble becomes one graph: its members side by side,
// their linked outputs weighted and summed.
//
// The graph: input "input" of shape (batch, one sample's shape), output "output" of shape
// (batch, outputs); float32; opset 13 of the default ONNX domain (ONNX 1.8 or newer runs it).
#include <string>
#include <vector>

#include "nntune/model.hpp"

namespace nntune {

// The serialized ModelProto. Throws Error naming the layer (position and kind) or loss that
// has no ONNX form, or a network that is not built.
std::string export_onnx_bytes(const Model& model);
// Writes export_onnx_bytes(model) to `path` (a temporary file renamed over it, so a failed
// export leaves no half-written file). Throws Error as above or when the file cannot be written.
void export_onnx(const Model& model, const std::string& path);

// The layer kinds (Layer::kind()) and losses the exporter knows, for messages and docs.
std::vector<std::string> onnx_exportable_layer_kinds();
std::vector<std::string> onnx_exportable_losses();

}  // namespace nntune
