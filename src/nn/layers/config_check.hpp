#pragma once
// Reading a layer's config against its declared keys (core/schema.hpp), with messages a user
// can act on: every problem names the layer type, the key, what was given and what is allowed.
// Defaults and ranges come from the declaration, so they are written once.
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "core/schema.hpp"
#include "nntune/layer.hpp"

namespace nntune::layers {

// "a, b, c" for error messages.
std::string join_names(const std::vector<std::string>& names);

// The declaration of an initialiser key: a name, or {name, scale, value}.
schema::NodePtr initializer_node();

class ConfigReader {
 public:
  // Throws unless config is an object whose keys are "type" and the declared keys.
  ConfigReader(const nlohmann::json& config, std::string layer_type, const std::vector<schema::Field>& keys);

  bool has(const std::string& key) const { return config_.contains(key); }
  // The value of a declared key, or its declared default; checked against the declared type
  // and range. A required key that is missing is an error.
  int64_t integer(const std::string& key) const;
  double number(const std::string& key) const;
  bool boolean(const std::string& key) const;
  std::string choice(const std::string& key) const;
  // An initialiser key; fallback when absent (the default of kernels depends on the activation).
  Initializer initializer(const std::string& key, const Initializer& fallback) const;

  [[noreturn]] void fail(const std::string& key, const std::string& problem) const;

 private:
  const schema::Field& declared(const std::string& key) const;

  const nlohmann::json& config_;
  std::string layer_type_;
  const std::vector<schema::Field>& keys_;
};

nlohmann::json initializer_config(const Initializer& init);
// A float as the double with the same shortest decimal form (0.05f -> 0.05, not
// 0.05000000074505806), so configs read back the way the user wrote them.
double tidy(float value);

}  // namespace nntune::layers
