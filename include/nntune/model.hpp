#pragma once
// A trained model: architecture, weights, layer state, input scaling and output link, saved in
// a small versioned binary format with a checksum. Saving is atomic (temporary file + rename),
// so a crash never leaves a corrupt model behind.
#include <nlohmann/json.hpp>
#include <string>

#include "nntune/data.hpp"
#include "nntune/network.hpp"

namespace nntune {

struct Model {
  Network network;
  Scaler scaler;
  std::string loss;  // decides the output link at prediction time
  Task task = Task::Classification;
  int64_t num_classes = 0;
  nlohmann::json metadata;  // free-form: spec, history summary, overrides
};

void save_model(const Model& model, const std::string& path);
// Throws Error for a missing, truncated, foreign, newer-version or corrupt (checksum) file.
Model load_model(const std::string& path);

// Scales raw inputs with the model's scaler, runs the network (evaluation mode) in batches and
// applies the loss link: class probabilities for classification, values for regression.
Tensor predict(Model& model, const Tensor& raw_x, int64_t batch_size = 1024);

}  // namespace nntune
