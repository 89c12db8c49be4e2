// The ONNX form of embedding: Gather of the table's rows by the ids (Cast to int64). With
// mask_zero the layer also makes the step mask (ids != 0) that the recurrent exporters after it
// read from the graph (OnnxGraph::step_mask), as the network hands it to the recurrent layers.
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_embedding(const Layer& layer, const Shape&, const std::string& input, OnnxGraph& graph) {
  const nlohmann::json config = layer.config();
  const int64_t vocabulary = config.at("vocabulary").get<int64_t>(), dim = config.at("dim").get<int64_t>();
  constexpr int64_t kOnnxInt64 = 7;  // TensorProto.DataType INT64
  const std::string ids = graph.node("Cast", {input}, {Attribute::integer("to", kOnnxInt64)});
  if (config.value("mask_zero", false))
    graph.set_step_mask(graph.node("Not", {graph.node("Equal", {ids, graph.int_constant("padding_id", {}, {0})})}));
  const std::string table = graph.constant("embeddings", {vocabulary, dim}, block_values(param_block(layer, "embeddings")));
  return graph.node("Gather", {table, ids}, {Attribute::integer("axis", 0)});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_embedding) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "embedding"}, nntune::onnx_export::export_embedding);
}
