#pragma once
// The one description of the training spec: allowed keys, types, ranges and enumerations per
// path, built from the description language of src/core/schema.hpp. The parts that belong to a
// component (a layer's keys, an optimiser's, a schedule's, ...) come from that component's own
// declaration (src/core/registry.hpp). Validation walks it; --set overrides use it to check
// paths; tuning uses it to check that a distribution put in place of a scalar fits that
// scalar's type and range.
#include "core/schema.hpp"
#include "nntune/spec.hpp"

namespace nntune::spec {

using schema::as_list;
using schema::as_map;
using schema::closest;
using schema::Field;
using schema::find_field;
using schema::join;
using schema::json_type_name;
using schema::Kind;
using schema::kind_name;
using schema::Node;
using schema::NodePtr;
using schema::pick_alternative;
using schema::ScalarHook;
using schema::allowed_keys;

// The schema of the whole spec.
const Node& root_schema();

// The keys of `model` that only the MLP shorthand (model.hidden) reads; refused beside
// model.layers (and left out of the effective spec there).
const std::vector<std::string>& shorthand_only_model_keys();

// Validates value against node; throws Error located through tree.
void validate_node(const Node& node, const nlohmann::json& value, const std::string& path, const SpecTree& tree,
                   const ScalarHook& hook = {});

}  // namespace nntune::spec
