#pragma once
// Components declare themselves once, in their own file: a name, one line of help and their
// keys (types, ranges, defaults, help; see schema.hpp), beside a factory. Schemas, factories,
// stored configs and the lists in error messages are derived from these declarations.
//
// To add a component, write its file with
//
//   NNTUNE_REGISTER_COMPONENTS(layer_reshape) {
//     layer_registry().add({.name = "reshape", .help = "...", .keys = {...}}, make_reshape);
//   }
//
// The build finds every NNTUNE_REGISTER_COMPONENTS(id) in src/ (cmake/registrations.cmake) and
// generates the one function that calls them all, so a static library keeps every component and
// no list has to be edited by hand.
#include <algorithm>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/schema.hpp"

#define NNTUNE_REGISTER_COMPONENTS(id) void nntune_register_##id()

namespace nntune {

// Calls every NNTUNE_REGISTER_COMPONENTS function once (generated at build time).
void register_all_components();

struct ComponentInfo {
  std::string name;
  std::string help;                 // one line
  std::vector<schema::Field> keys;  // besides the name/type key itself
  int order = 100;                  // position in lists (then by name): the familiar order first
  std::vector<std::string> aliases;  // other names accepted for it ("mean_squared_error" for "mse")
  // The smallest valid config besides the name (the required keys), for the reference and tests.
  nlohmann::json example = nlohmann::json::object();
};

// The components of one family (layers, losses, optimisers, ...), each with its factory.
template <typename Factory>
class Registry {
 public:
  struct Entry {
    ComponentInfo info;
    Factory factory;
  };

  explicit Registry(std::string family) : family_(std::move(family)) {}

  // Called from NNTUNE_REGISTER_COMPONENTS functions. A name registered twice is a bug.
  void add(ComponentInfo info, Factory factory) {
    for (const Entry& e : entries_)
      if (e.info.name == info.name)
        throw std::logic_error(family_ + " '" + info.name + "' is registered twice");
    const auto at = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) {
      return e.info.order != info.order ? e.info.order > info.order : e.info.name > info.name;
    });
    entries_.insert(at, Entry{std::move(info), std::move(factory)});
  }

  // By name or alias; null when unknown.
  const Entry* find(const std::string& name) const {
    register_all_components();
    for (const Entry& e : entries_)
      if (e.info.name == name || std::find(e.info.aliases.begin(), e.info.aliases.end(), name) != e.info.aliases.end())
        return &e;
    return nullptr;
  }
  const std::vector<Entry>& entries() const {
    register_all_components();
    return entries_;
  }
  // Names in list order (aliases not included).
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Entry& e : entries()) out.push_back(e.info.name);
    return out;
  }
  // Names and aliases, in list order.
  std::vector<std::string> names_and_aliases() const {
    std::vector<std::string> out;
    for (const Entry& e : entries()) {
      out.push_back(e.info.name);
      for (const std::string& a : e.info.aliases) out.push_back(a);
    }
    return out;
  }
  const std::string& family() const { return family_; }

 private:
  std::string family_;
  std::vector<Entry> entries_;
};

}  // namespace nntune
