// ONNX export from the C++ API: what is refused and how. The numbers of the exported graphs are
// checked against nntune predict by tests/onnx_export_test.py (onnx.checker and a NumPy
// evaluator), which ctest runs as onnx_export_test.
#include <filesystem>
#include <random>
#include <string>

#include "nn/layers/activation_kernels.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"
#include "nntune/onnx.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::TempDir;

Model make_model(const nlohmann::json& layers, const std::string& loss = "categorical_crossentropy") {
  Rng rng(1);
  Model model;
  model.network = Network::from_config({{"input_shape", {4}}, {"layers", layers}}, rng);
  model.loss = loss;
  model.num_classes = 3;
  model.scaler.kind = "standard";
  model.scaler.fit(Tensor({2, 4}, {0, 1, 2, 3, 4, 5, 6, 7}));
  return model;
}

const nlohmann::json kLayers = {{{"type", "dense"}, {"units", 5}, {"activation", "relu"}},
                                {{"type", "batch_norm"}},
                                {{"type", "dense"}, {"units", 3}}};

// A layer kind the exporter has never heard of (as a new layer is until it gets an exporter).
class Unheard final : public Layer {
 public:
  std::string kind() const override { return "unheard_of"; }
  Shape build(const Shape& input) override { return input; }
  void forward(const Tensor& in, Tensor& out, const ForwardContext&) override { out = in; }
  void backward(const Tensor&, const Tensor&, const Tensor& grad_out, Tensor* grad_in) override {
    if (grad_in) *grad_in = grad_out;
  }
  nlohmann::json config() const override { return {{"type", "unheard_of"}}; }
};

TEST(OnnxExport, ExportsEveryLayerKindTheEngineHas) {
  // Every registered layer kind (the convolutional and recurrent ones included) has an
  // exporter; tests/onnx_export_test.py checks each one's numbers.
  register_all_components();
  const auto kinds = onnx_exportable_layer_kinds();
  for (const auto& entry : layer_registry().entries()) {
    // `type: relu` and the other activation names build an activation layer.
    layers::ActivationKind shorthand;
    if (layers::parse_activation_kind(entry.info.name, shorthand)) continue;
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), entry.info.name), kinds.end()) << entry.info.name;
  }
  for (const std::string kind : {"dense", "conv2d", "max_pool2d", "avg_pool2d", "global_avg_pool2d", "layer_norm",
                                 "reshape", "rnn", "lstm", "gru"})
    EXPECT_NE(std::find(kinds.begin(), kinds.end(), kind), kinds.end()) << kind;
  const std::string bytes = export_onnx_bytes(make_model(kLayers));
  // Protobuf stores names as plain bytes: every layer's scope and the graph's ends are there.
  for (const std::string name : {"scaler/offset", "layer0_dense/weight", "layer1_batch_norm/scale",
                                 "layer2_dense/bias", "input", "output", "Softmax", "nntune"})
    EXPECT_NE(bytes.find(name), std::string::npos) << name;
}

TEST(OnnxExport, RefusesAnUnsupportedLayerByName) {
  Model model;
  model.loss = "categorical_crossentropy";
  model.network.add(make_layer({{"type", "dense"}, {"units", 3}}));
  model.network.add(std::make_unique<Unheard>());
  Rng rng(0);
  model.network.build({4}, rng);
  EXPECT_ERROR_CONTAINS(export_onnx_bytes(model), "cannot export the model to ONNX", "layer 1 (unheard_of)",
                        "has no ONNX exporter", "layer kinds that export: activation, ", "dense, dropout, embedding, flatten");
  // Inside an ensemble, the member is named too; nothing is written.
  Model ensemble = make_ensemble([&] {
    std::vector<Model> members;
    members.push_back(make_model(kLayers));
    members.push_back(std::move(model));
    members.back().num_classes = 3;
    return members;
  }(), {1.0, 1.0});
  TempDir dir;
  EXPECT_ERROR_CONTAINS(export_onnx(ensemble, dir.file("e.onnx")), "ensemble member 1", "layer 1 (unheard_of)");
  EXPECT_FALSE(std::filesystem::exists(dir.file("e.onnx")));
}

TEST(OnnxExport, RefusesAnUnbuiltNetworkAndAnUnknownLoss) {
  Model unbuilt;
  unbuilt.loss = "mse";
  EXPECT_ERROR_CONTAINS(export_onnx_bytes(unbuilt), "not built", "train it first");
  Model model = make_model(kLayers, "hinge");
  EXPECT_ERROR_CONTAINS(export_onnx_bytes(model), "unknown loss \"hinge\"");
}

TEST(OnnxExport, RefusesAScalerThatDoesNotFitTheInput) {
  Model model = make_model(kLayers);
  model.scaler.offset.push_back(0.0f);
  model.scaler.factor.push_back(1.0f);
  EXPECT_ERROR_CONTAINS(export_onnx_bytes(model), "standard scaler holds 5 offsets", "4 features");
}

TEST(OnnxExport, EnsembleMembersAreScopedAndWeighted) {
  std::vector<Model> members;
  members.push_back(make_model(kLayers));
  members.push_back(make_model({{{"type", "dense"}, {"units", 3}, {"activation", "tanh"}}}));
  const std::string bytes = export_onnx_bytes(make_ensemble(std::move(members), {1.0, 3.0}));
  for (const std::string name : {"m0/layer1_batch_norm/scale", "m1/layer0_dense/weight", "m0/weight", "m1/weight",
                                 "ensemble/Sum", "nntune.ensemble_members"})
    EXPECT_NE(bytes.find(name), std::string::npos) << name;
  EXPECT_EQ(bytes.find("m2/"), std::string::npos);
}

TEST(OnnxExport, AStepMaskReachesTheRecurrentLayersThatKeepIt) {
  // mask_zero exports (tests/onnx_export_test.py checks the numbers): the embedding makes the
  // mask and each recurrent layer under it, stacked ones included, gathers its real steps (TopK
  // of a key); without mask_zero no step is gathered.
  auto tokens = [](bool mask_zero) {
    Rng rng(1);
    Model model;
    model.network = Network::from_config(
        {{"input_shape", {5}},
         {"layers",
          {{{"type", "embedding"}, {"vocabulary", 6}, {"dim", 2}, {"mask_zero", mask_zero}},
           {{"type", "gru"}, {"units", 3}, {"return_sequences", true}, {"bidirectional", true}},
           {{"type", "tanh"}},
           {{"type", "lstm"}, {"units", 2}, {"layers", 2}},
           {{"type", "dense"}, {"units", 3}}}}},
        rng);
    model.loss = "categorical_crossentropy";
    model.num_classes = 3;
    return export_onnx_bytes(model);
  };
  const std::string masked = tokens(true);
  for (const std::string name : {"layer0_embedding/Not", "layer1_gru/TopK", "layer1_gru/reverse_key",
                                 "layer3_lstm/TopK", "layer3_lstm/padding_key", "GatherElements"})
    EXPECT_NE(masked.find(name), std::string::npos) << name;
  const std::string plain = tokens(false);
  EXPECT_EQ(plain.find("TopK"), std::string::npos);
  EXPECT_EQ(plain.find("layer0_embedding/Not"), std::string::npos);
}

TEST(OnnxExport, WritesTheFileOrSaysWhyNot) {
  TempDir dir;
  const Model model = make_model(kLayers);
  export_onnx(model, dir.file("m.onnx"));
  EXPECT_EQ(testing::read_file(dir.file("m.onnx")), export_onnx_bytes(model));
  EXPECT_ERROR_CONTAINS(export_onnx(model, dir.file("missing/m.onnx")), "cannot write the ONNX model to",
                        "does the directory exist?");
  for (const auto& entry : std::filesystem::directory_iterator(dir.path()))
    EXPECT_EQ(entry.path().filename(), "m.onnx");  // no temporary file left behind
}

}  // namespace
}  // namespace nntune
