// The ONNX form of embedding: Gather of the table's rows by the ids (Cast to int64). A model
// whose embedding makes a step mask (mask_zero) is refused: the recurrent ops' sequence_lens
// cover only padding at the end, where nntune's mask may put padding anywhere.
#include "nntune/error.hpp"
#include "onnx/layer_exporters.hpp"

namespace nntune::onnx_export {
namespace {

std::string export_embedding(const Layer& layer, const Shape&, const std::string& input, OnnxGraph& graph) {
  const nlohmann::json config = layer.config();
  if (config.value("mask_zero", false))
    throw Error("cannot export an embedding with mask_zero: true to ONNX (padding steps are skipped anywhere in a "
                "sequence, which ONNX's recurrent ops cannot express); train without mask_zero to export");
  const int64_t vocabulary = config.at("vocabulary").get<int64_t>(), dim = config.at("dim").get<int64_t>();
  constexpr int64_t kOnnxInt64 = 7;  // TensorProto.DataType INT64
  const std::string ids = graph.node("Cast", {input}, {Attribute::integer("to", kOnnxInt64)});
  const std::string table = graph.constant("embeddings", {vocabulary, dim}, block_values(param_block(layer, "embeddings")));
  return graph.node("Gather", {table, ids}, {Attribute::integer("axis", 0)});
}

}  // namespace
}  // namespace nntune::onnx_export

NNTUNE_REGISTER_COMPONENTS(onnx_embedding) {
  nntune::onnx_export::layer_exporter_registry().add({.name = "embedding"}, nntune::onnx_export::export_embedding);
}
