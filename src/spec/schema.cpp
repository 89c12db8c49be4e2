#include "spec/schema.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "nn/layers/layer_registry.hpp"
#include "nn/loss_registry.hpp"
#include "train/optimizer_registry.hpp"
#include "train/schedule_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::spec {
namespace {

using nlohmann::json;

using namespace schema;

// The enumerations come from the components' own lists.
const std::vector<std::string>& activations() { return activation_names(); }
const std::vector<std::string>& initializers() { return initializer_names(); }

NodePtr activation() { return one_of_names("activation", activations()); }
NodePtr initializer() { return one_of_names("initializer", initializers()); }
NodePtr penalty() { return real(0.0); }
NodePtr probability_below_one() { return real(0.0, false, 1.0, true); }

// A file source for training/validation/test data.
std::vector<Field> file_source_fields() {
  return {
      opt("idx", mapping({req("images", text()), req("labels", text())})),
      opt("csv", mapping({req("path", text()), opt("label", any_of({text(), integer(0.0)})), opt("header", boolean()),
                          opt("skip_rows", integer(0.0)), opt("delimiter", text())})),
      opt("npy", mapping({req("x", text()), req("y", text())})),
  };
}
NodePtr train_source() {
  auto n = mapping(file_source_fields());
  n->exactly_one = true;
  return n;
}
// Validation and test: a file source or a part held out of the training data.
NodePtr held_out_source() {
  std::vector<Field> fields = {opt("split", real(0.0, true, 1.0, true)), opt("last", integer(1.0))};
  for (Field& f : file_source_fields()) fields.push_back(f);
  auto n = mapping(std::move(fields));
  n->exactly_one = true;
  return n;
}

NodePtr scale() {
  auto divide = mapping({req("divide", real(0.0, true))});
  divide->exactly_one = true;
  return any_of({one_of_names("scaling", {"none", "standard", "minmax"}), divide});
}

// Layer configs as make_layer() takes them: each registered layer type with its declared keys
// (src/nn/layers/), plus l1/l2 per layer (the network's regularizer).
NodePtr layer() {
  auto n = mapping({opt("l1", penalty(), 0.0, "L1 penalty on this layer's weights"),
                    opt("l2", penalty(), 0.0, "L2 penalty on this layer's weights")});
  n->tag_key = "type";
  for (const auto& entry : layer_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return n;
}

// MLP shorthand: hidden: [256, 128] | {count: 2, units: 128} | [{units: 256, dropout: 0.2}, ...]
NodePtr hidden() {
  auto per_layer = mapping({req("units", integer(1.0)), opt("activation", activation()), opt("init", initializer()),
                            opt("dropout", probability_below_one()), opt("batch_norm", boolean()),
                            opt("l1", penalty()), opt("l2", penalty())});
  auto repeated = mapping({req("count", integer(0.0)), req("units", integer(1.0))});
  return any_of({list_of(any_of({integer(1.0), per_layer})), repeated});
}

// train.optimizer: a name, or a mapping tagged by name whose keys are those the optimiser
// declares in its own file (src/train/optimizers/).
NodePtr optimizer() {
  auto n = mapping({});
  n->tag_key = "name";
  n->tag_default = "adam";
  for (const auto& entry : optimizer_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return any_of({one_of_names("optimizer", optimizer_names()), n});
}

// train.schedule: a name, or a mapping tagged by name whose keys are those the schedule declares
// in its own file (src/train/schedules/), plus warmup_epochs.
NodePtr schedule() {
  auto n = mapping({opt("warmup_epochs", real(0.0), 0.0, "linear warm-up from 0 over this many epochs first")});
  n->tag_key = "name";
  n->tag_default = "constant";
  for (const auto& entry : schedule_registry().entries()) n->variants.emplace_back(entry.info.name, entry.info.keys);
  return any_of({one_of_names("schedule", schedule_names()), n});
}

NodePtr monitor() {
  return one_of_names("metric", {"loss", "accuracy", "mae", "rmse", "val_loss", "val_accuracy", "val_mae", "val_rmse"});
}
NodePtr mode() { return one_of_names("mode", {"auto", "min", "max"}); }

std::shared_ptr<Node> build_root() {
  auto data = mapping({req("train", train_source()), opt("validation", held_out_source()), opt("test", held_out_source()),
                       opt("task", one_of_names("task", {"classification", "regression"})),
                       opt("num_classes", integer(2.0)), opt("scale", scale())});
  auto model = mapping({opt("layers", list_of(layer())), opt("hidden", hidden()), opt("activation", activation()),
                        opt("init", initializer()), opt("dropout", probability_below_one()),
                        opt("batch_norm", boolean()), opt("l1", penalty()), opt("l2", penalty())});
  auto early_stopping = mapping({opt("monitor", monitor()), opt("mode", mode()), opt("patience", integer(0.0)),
                                 opt("min_delta", real(0.0)), opt("restore_best", boolean())});
  auto plateau = mapping({opt("monitor", monitor()), opt("mode", mode()), opt("factor", real(0.0, true, 1.0, true)),
                          opt("patience", integer(0.0)), opt("min_delta", real(0.0)), opt("cooldown", integer(0.0)),
                          opt("min_lr", real(0.0))});
  auto train = mapping({opt("loss", one_of_names("loss", loss_registry().names_and_aliases())),
                        opt("optimizer", optimizer()), opt("schedule", schedule()), opt("batch_size", integer(1.0)),
                        opt("epochs", integer(1.0)), opt("shuffle", boolean()), opt("clip_norm", real(0.0)),
                        opt("precision", one_of_names("precision", {"fp32", "bf16", "auto"})),
                        opt("early_stopping", early_stopping), opt("reduce_on_plateau", plateau)});
  auto output = mapping({opt("dir", text())});
  return mapping({opt("seed", integer(0.0)), req("data", data), req("model", model), opt("train", train),
                  opt("output", output)});
}

}  // namespace

const Node& root_schema() {
  static const std::shared_ptr<Node> root = build_root();
  return *root;
}

void validate_node(const Node& node, const json& value, const std::string& path, const SpecTree& tree,
                   const ScalarHook& hook) {
  schema::validate(node, value, path, [&](const std::string& p, const std::string& message, bool at_key) {
    tree.fail(p, message, at_key);
  }, hook);
}

}  // namespace nntune::spec
