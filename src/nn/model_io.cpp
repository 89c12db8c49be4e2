// The model file: a small versioned binary format with a checksum.
//
//   offset 0   8 bytes  magic "NNTUNE\0M"
//          8   u32      format version: 1 for a single model, 2 for an ensemble, 3 for either
//                       with table preprocessing or class names
//         12   u32      header length H
//         16   H bytes  JSON header: network config, scaler, loss, task, num_classes,
//                       metadata, num_params, num_state
//     16 + H   float32  num_params parameters, then num_state layer-state values
//   size - 4   u32      CRC-32 (zlib) of every byte before it
//
// An ensemble's header has no network and scaler but "members": per member its network config,
// scaler, weight, num_params and num_state; the values are each member's parameters then
// state, member after member, and the header's num_params/num_state are their totals. Single
// models keep version 1, so nntune versions that predate ensembles still read them.
//
// Version 3 adds "class_names" to the header, "preprocessing" (Preprocessing::to_json) and
// "forecast" (ForecastTransform::to_json) beside each network's scaler, and the layer kinds that
// came after version 2 (convolution, pooling, recurrent, embedding, layer norm, reshape, ...).
// Only models that use one of them are written as version 3, so older nntune versions still read
// every other model, and refuse these with "written by a newer nntune" instead of misreading them.
//
// All integers and floats are little endian. Saving writes a temporary file beside the target,
// fsyncs it and renames it over the target, so a crash leaves either the old or the new model.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <bit>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <set>
#include <limits>
#include <filesystem>
#include <sstream>

#include "data/file_bytes.hpp"
#include "nn/model_io_faults.hpp"
#include "nntune/error.hpp"
#include "nntune/loss.hpp"
#include "nntune/model.hpp"

namespace nntune {

namespace detail {
std::function<void(const std::string& stage)> save_model_fault_hook;
}  // namespace detail

namespace {

static_assert(std::endian::native == std::endian::little, "the model format is written on little-endian machines");

constexpr char kMagic[8] = {'N', 'N', 'T', 'U', 'N', 'E', '\0', 'M'};
constexpr uint32_t kSingleModelVersion = 1;
constexpr uint32_t kEnsembleVersion = 2;
constexpr uint32_t kFormatVersion = 3;  // the newest this build reads and writes (preprocessing, class names)
constexpr size_t kFixedHeader = 16;  // magic, version, header length
constexpr size_t kChecksumSize = 4;

std::string task_name(Task task) { return task == Task::Regression ? "regression" : "classification"; }

void append_u32(std::string& out, uint32_t value) {
  char bytes[4];
  std::memcpy(bytes, &value, 4);
  out.append(bytes, 4);
}

uint32_t read_u32(const char* at) {
  uint32_t value;
  std::memcpy(&value, at, 4);
  return value;
}

uint32_t checksum(const char* data, size_t size) {
  uLong crc = crc32(0L, Z_NULL, 0);
  // zlib takes uInt lengths; feed large files in pieces.
  while (size > 0) {
    const uInt piece = static_cast<uInt>(std::min<size_t>(size, 1u << 30));
    crc = crc32(crc, reinterpret_cast<const Bytef*>(data), piece);
    data += piece;
    size -= piece;
  }
  return static_cast<uint32_t>(crc);
}

std::string hex(uint32_t value) {
  std::ostringstream out;
  out << "0x" << std::hex << value;
  return out.str();
}

void check_single(const Model& model, const std::string& what) {
  if (!model.network.built()) throw Error(what + ": its network is not built (train it first)");
}

// The layer kinds nntune knew when it wrote format version 2 (2026-11-27): the MLP engine's.
bool version_2_layer_kind(const std::string& kind) {
  static const std::set<std::string> kinds = {"dense", "activation", "dropout", "batch_norm", "flatten"};
  return kinds.count(kind) > 0;
}

std::string serialize(const Model& model, const std::string& where) {
  nlohmann::json header = {
      {"loss", model.loss},
      {"task", task_name(model.task)},
      {"num_classes", model.num_classes},
      {"metadata", model.metadata},
  };
  std::vector<float> values;
  // One network's description into `entry`, its parameters then its state into `values`.
  auto append_member = [&](const Model& member, nlohmann::json& entry) {
    const std::vector<float>& params = member.network.parameters();
    const std::vector<float> state = member.network.state();
    entry["network"] = member.network.config();
    entry["scaler"] = member.scaler.to_json();
    if (member.forecast.enabled) entry["forecast"] = member.forecast.to_json();
    if (member.preprocessing.active()) entry["preprocessing"] = member.preprocessing.to_json();
    entry["num_params"] = params.size();
    entry["num_state"] = state.size();
    values.insert(values.end(), params.begin(), params.end());
    values.insert(values.end(), state.begin(), state.end());
  };
  if (!model.is_ensemble()) {
    check_single(model, where);
    append_member(model, header);
  } else {
    if (model.member_weights.size() != model.members.size())
      throw Error(where + ": the ensemble has " + std::to_string(model.members.size()) + " members but " +
                  std::to_string(model.member_weights.size()) + " weights (build it with make_ensemble)");
    nlohmann::json members = nlohmann::json::array();
    size_t params_total = 0, state_total = 0;
    for (size_t i = 0; i < model.members.size(); ++i) {
      const Model& member = model.members[i];
      if (member.is_ensemble()) throw Error(where + ": member " + std::to_string(i) + " is itself an ensemble");
      check_single(member, where + ": member " + std::to_string(i));
      nlohmann::json entry = {{"weight", model.member_weights[i]}};
      append_member(member, entry);
      params_total += entry["num_params"].get<size_t>();
      state_total += entry["num_state"].get<size_t>();
      members.push_back(std::move(entry));
    }
    header["members"] = std::move(members);
    header["num_params"] = params_total;
    header["num_state"] = state_total;
  }
  // Version 3 for anything a version-2 reader would misread or refuse without saying why: table
  // preprocessing, class names, a forecast transform (which it would ignore, predicting wrong
  // values), or a layer kind it does not know (it would say "unknown layer type").
  auto needs_version_3 = [](const Model& m) {
    if (m.preprocessing.active() || m.forecast.enabled) return true;
    for (const auto& layer : m.network.layers())
      if (!version_2_layer_kind(layer->kind())) return true;
    return false;
  };
  bool newer = !model.class_names.empty() || needs_version_3(model);
  for (const Model& member : model.members) newer = newer || needs_version_3(member);
  if (!model.class_names.empty()) {
    if (model.task != Task::Classification || static_cast<int64_t>(model.class_names.size()) != model.num_classes)
      throw Error(where + ": it has " + std::to_string(model.class_names.size()) + " class names for " +
                  std::to_string(model.num_classes) + " classes");
    header["class_names"] = model.class_names;
  }
  const std::string header_text = header.dump();
  std::string out;
  out.reserve(kFixedHeader + header_text.size() + 4 * values.size() + kChecksumSize);
  out.append(kMagic, sizeof kMagic);
  append_u32(out, newer ? kFormatVersion : model.is_ensemble() ? kEnsembleVersion : kSingleModelVersion);
  append_u32(out, static_cast<uint32_t>(header_text.size()));
  out += header_text;
  out.append(reinterpret_cast<const char*>(values.data()), 4 * values.size());
  append_u32(out, checksum(out.data(), out.size()));
  return out;
}

// The parameter count of a network config, found by shaping its layers without allocating the
// parameters, so that a crafted architecture cannot make the loader allocate more than the file
// holds. (Network::from_config shapes the same way, then allocates.)
// Layers may allocate per-feature state when they are shaped, so the sample size is bounded
// first: by the values the file holds, or 2^24 for networks with few parameters.
int64_t parameter_count(const nlohmann::json& config, size_t available) {
  const int64_t max_sample = std::max<int64_t>(int64_t{1} << 24, static_cast<int64_t>(available));
  auto check_sample = [&](const Shape& shape) {
    if (shape_size(shape) > max_sample)
      throw Error("its architecture has samples of shape " + shape_string(shape) + ", far larger than the file");
  };
  Shape shape = config.at("input_shape").get<Shape>();
  int64_t total = 0;
  for (nlohmann::json layer_config : config.at("layers")) {
    layer_config.erase("l1");
    layer_config.erase("l2");
    // Integers in a layer's config are sizes (units, ...): bounded the same way, so that a
    // layer's own arithmetic on them cannot overflow.
    for (const auto& [key, value] : layer_config.items())
      if ((value.is_number_unsigned() && value.get<uint64_t>() > static_cast<uint64_t>(max_sample)) ||
          (value.is_number_integer() && !value.is_number_unsigned() && value.get<int64_t>() > max_sample))
        throw Error("its architecture has " + key + " " + value.dump() + ", far larger than the file");
    const std::unique_ptr<Layer> layer = make_layer(layer_config);
    check_sample(shape);
    shape = layer->build(shape);
    check_sample(shape);
    for (const ParamBlock& block : layer->params())
      if (block.size < 0 || __builtin_add_overflow(total, block.size, &total))
        throw Error("its architecture has more parameters than can be stored");
  }
  return total;
}

// Rebuilds one network and scaler from `entry` (the header, or one member of an ensemble's),
// reading its parameters and state from `values`, of which `available` floats remain; returns
// how many floats it read.
size_t read_member(const nlohmann::json& entry, const char* values, size_t available, Model& model) {
  const size_t num_params = entry.at("num_params").get<size_t>();
  const size_t num_state = entry.at("num_state").get<size_t>();
  // Checked before the network is built: a crafted count must not size an allocation or a copy.
  if (num_params > available || num_state > available - num_params)
    throw Error("its header counts " + std::to_string(num_params) + " parameters and " + std::to_string(num_state) +
                " state values but only " + std::to_string(available) + " values remain in the file");
  Rng rng(0);  // the initial values are overwritten by the saved parameters
  if (const int64_t needed = parameter_count(entry.at("network"), available); needed != static_cast<int64_t>(num_params))
    throw Error("the file holds " + std::to_string(num_params) + " parameters but its architecture has " +
                std::to_string(needed));
  model.network = Network::from_config(entry.at("network"), rng);
  if (num_params != model.network.parameters().size())
    throw Error("the file holds " + std::to_string(num_params) + " parameters but its architecture has " +
                std::to_string(model.network.parameters().size()));
  if (num_params) std::memcpy(model.network.parameters().data(), values, 4 * num_params);
  std::vector<float> state(num_state);
  if (num_state) std::memcpy(state.data(), values + 4 * num_params, 4 * num_state);
  model.network.set_state(state);
  model.scaler = Scaler::from_json(entry.at("scaler"));
  // Absent in files of non-series models and of nntune versions before series support.
  if (entry.contains("forecast")) model.forecast = ForecastTransform::from_json(entry.at("forecast"));
  if (entry.contains("preprocessing")) {
    model.preprocessing = Preprocessing::from_json(entry.at("preprocessing"));
    if (model.preprocessing.output_width() != shape_size(model.network.input_shape()))
      throw Error("its preprocessing gives " + std::to_string(model.preprocessing.output_width()) +
                  " features but the network takes " + shape_string(model.network.input_shape()));
  }
  return num_params + num_state;
}

// Removes the temporary file unless the save completed.
class TempFile {
 public:
  explicit TempFile(std::string path) : path_(std::move(path)) {}
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) ::unlink(path_.c_str());
  }
  const std::string& path() const { return path_; }
  int& fd() { return fd_; }
  void commit() { committed_ = true; }

 private:
  std::string path_;
  int fd_ = -1;
  bool committed_ = false;
};

void fault_point(const char* stage) {
  if (detail::save_model_fault_hook) detail::save_model_fault_hook(stage);
}

void write_atomically(const std::string& path, const std::string& bytes) {
  const std::string failed = "cannot save model to " + detail::quoted(path) + ": ";
  namespace fs = std::filesystem;
  const fs::path parent = fs::path(path).parent_path();
  if (!parent.empty()) {
    std::error_code ec;
    fs::create_directories(parent, ec);
    if (ec)
      throw Error(failed + "cannot create directory " + detail::quoted(parent.string()) + " (" + ec.message() +
                  "); choose a writable location");
  }
  // The pid keeps processes apart; the sequence number keeps threads of one process apart.
  static std::atomic<uint64_t> sequence{0};
  TempFile temp(path + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(sequence++));
  temp.fd() = ::open(temp.path().c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (temp.fd() < 0)
    throw Error(failed + "cannot create temporary file " + detail::quoted(temp.path()) + " (" +
                std::strerror(errno) + "); check that the directory is writable");
  fault_point("temp_created");
  size_t done = 0;
  while (done < bytes.size()) {
    const ssize_t wrote = ::write(temp.fd(), bytes.data() + done, bytes.size() - done);
    if (wrote < 0) {
      if (errno == EINTR) continue;
      throw Error(failed + "writing " + detail::quoted(temp.path()) + " failed (" + std::strerror(errno) +
                  "); free some disk space or choose another location");
    }
    done += static_cast<size_t>(wrote);
  }
  fault_point("written");
  if (::fsync(temp.fd()) != 0)
    throw Error(failed + "flushing " + detail::quoted(temp.path()) + " to disk failed (" + std::strerror(errno) + ")");
  const int fd = temp.fd();
  temp.fd() = -1;
  if (::close(fd) != 0)
    throw Error(failed + "closing " + detail::quoted(temp.path()) + " failed (" + std::strerror(errno) + ")");
  fault_point("synced");
  if (::rename(temp.path().c_str(), path.c_str()) != 0)
    throw Error(failed + "renaming " + detail::quoted(temp.path()) + " over it failed (" + std::strerror(errno) +
                "); is " + detail::quoted(path) + " a directory?");
  temp.commit();
  // Make the rename itself durable; a failure here leaves a valid file, so it is not an error.
  const int dir = ::open(parent.empty() ? "." : parent.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

}  // namespace

void save_model(const Model& model, const std::string& path) {
  std::string bytes;
  try {
    bytes = serialize(model, "cannot save model to " + detail::quoted(path));
  } catch (const nlohmann::json::exception& e) {
    // In practice: a metadata or config string that is not valid UTF-8.
    throw Error("cannot save model to " + detail::quoted(path) + ": its header cannot be written as JSON (" +
                e.what() + "); make the metadata strings valid UTF-8");
  }
  write_atomically(path, bytes);
}

Model load_model(const std::string& path) {
  const detail::FileBytes file = detail::read_raw_bytes(path, "model file");
  const char* bytes = file.data();
  const size_t size = file.size;
  const std::string where = "model file " + detail::quoted(path);
  const std::string truncated = where + " is truncated";
  const std::string resave = "; the save was interrupted or the copy is incomplete: save or copy it again";

  if (size == 0) throw Error(where + " is empty (an interrupted save?); save the model again");
  if (std::memcmp(bytes, kMagic, std::min(size, sizeof kMagic)) != 0)
    throw Error(where + " is not an nntune model (it does not start with the nntune model signature); give a file "
                "written by nntune (save_model or the train command)");
  if (size < kFixedHeader + kChecksumSize)
    throw Error(truncated + " (" + std::to_string(size) + " bytes, shorter than any model)" + resave);
  const uint32_t version = read_u32(bytes + 8);
  if (version > kFormatVersion)
    throw Error(where + " was written by a newer nntune, version " + std::to_string(version) +
                "; this one reads up to " + std::to_string(kFormatVersion) + ": upgrade nntune to load it");
  if (version == 0) throw Error(where + " is corrupt: format version 0 does not exist; restore it from a backup");

  const size_t header_length = read_u32(bytes + 12);
  const uint32_t stored_crc = read_u32(bytes + size - kChecksumSize);
  const uint32_t actual_crc = checksum(bytes, size - kChecksumSize);
  nlohmann::json header;
  const bool header_fits = kFixedHeader + header_length + kChecksumSize <= size;
  if (header_fits) header = nlohmann::json::parse(bytes + kFixedHeader, bytes + kFixedHeader + header_length, nullptr,
                                                  /*allow_exceptions=*/false);
  // The size the header describes, computed without overflow: a crafted count must not wrap
  // around to the real size (the checksum is no defence, anyone can recompute it).
  size_t expected_size = 0;
  bool counts_overflow = false;
  if (header.is_object() && header.contains("num_params") && header.contains("num_state") &&
      header["num_params"].is_number_unsigned() && header["num_state"].is_number_unsigned()) {
    size_t values = 0, value_bytes = 0;
    counts_overflow = __builtin_add_overflow(header["num_params"].get<size_t>(), header["num_state"].get<size_t>(), &values) ||
                      __builtin_mul_overflow(values, size_t{4}, &value_bytes) ||
                      __builtin_add_overflow(kFixedHeader + header_length + kChecksumSize, value_bytes, &expected_size);
    if (counts_overflow) expected_size = std::numeric_limits<size_t>::max();
  }
  if (stored_crc != actual_crc) {
    // Tell a cut-off file from a damaged one: the former is shorter than its own header says.
    if (!header_fits)
      throw Error(truncated + " inside its header (" + std::to_string(size) + " bytes)" + resave);
    if (expected_size > size && !counts_overflow)
      throw Error(truncated + ": expected " + std::to_string(expected_size) + " bytes, got " + std::to_string(size) +
                  resave);
    throw Error(where + " is corrupt: checksum mismatch (stored " + hex(stored_crc) + ", computed " +
                hex(actual_crc) + "); the file was damaged after it was saved: restore it from a backup or retrain");
  }
  if (!header.is_object() || expected_size != size)
    throw Error(where + " is corrupt: its header does not describe the file (the checksum matches, so it was "
                "written that way); save the model again");

  Model model;
  try {
    const char* values = bytes + kFixedHeader + header_length;
    const size_t available = (size - kFixedHeader - header_length - kChecksumSize) / 4;
    model.loss = header.at("loss").get<std::string>();
    const std::string task = header.at("task").get<std::string>();
    if (task != "classification" && task != "regression")
      throw Error("unknown task '" + task + "' (expected classification or regression)");
    model.task = task == "regression" ? Task::Regression : Task::Classification;
    model.num_classes = header.at("num_classes").get<int64_t>();
    model.metadata = header.at("metadata");
    if (header.contains("class_names")) {
      model.class_names = header.at("class_names").get<std::vector<std::string>>();
      if (static_cast<int64_t>(model.class_names.size()) != model.num_classes)
        throw Error("it has " + std::to_string(model.class_names.size()) + " class names for " +
                    std::to_string(model.num_classes) + " classes");
    }
    if (!header.contains("members")) {
      read_member(header, values, available, model);
    } else {
      const nlohmann::json& members = header.at("members");
      if (!members.is_array() || members.empty()) throw Error("its ensemble lists no members");
      size_t read = 0;
      std::vector<Model> loaded;
      std::vector<double> weights;
      for (const nlohmann::json& entry : members) {
        Model member;
        member.loss = model.loss;
        member.task = model.task;
        member.num_classes = model.num_classes;
        read += read_member(entry, values + 4 * read, available - read, member);
        weights.push_back(entry.at("weight").get<double>());
        loaded.push_back(std::move(member));
      }
      if (read != header.at("num_params").get<size_t>() + header.at("num_state").get<size_t>())
        throw Error("its members hold " + std::to_string(read) + " values but the header counts " +
                    std::to_string(header.at("num_params").get<size_t>() + header.at("num_state").get<size_t>()));
      nlohmann::json metadata = std::move(model.metadata);
      std::vector<std::string> class_names = std::move(model.class_names);
      for (Model& member : loaded) member.class_names = class_names;
      model = make_ensemble(std::move(loaded), std::move(weights));
      model.metadata = std::move(metadata);
    }
  } catch (const nlohmann::json::exception& e) {
    throw Error(where + " has a malformed header (" + e.what() + "); save the model again");
  } catch (const Error& e) {
    throw Error(where + ": cannot rebuild the model: " + e.what() +
                " (was it written by an incompatible nntune build?)");
  }
  return model;
}

const Shape& Model::input_shape() const { return is_ensemble() ? members.front().network.input_shape() : network.input_shape(); }
const Shape& Model::output_shape() const {
  return is_ensemble() ? members.front().network.output_shape() : network.output_shape();
}

Model make_ensemble(std::vector<Model> members, std::vector<double> weights) {
  if (members.empty()) throw Error("an ensemble needs at least one member model");
  if (weights.size() != members.size())
    throw Error("an ensemble of " + std::to_string(members.size()) + " models needs as many weights, got " +
                std::to_string(weights.size()));
  double total = 0.0;
  for (size_t i = 0; i < weights.size(); ++i) {
    if (!(weights[i] >= 0.0) || !std::isfinite(weights[i]))
      throw Error("ensemble member " + std::to_string(i) + " has weight " + std::to_string(weights[i]) +
                  "; weights must be finite and non-negative");
    total += weights[i];
  }
  if (!(total > 0.0)) throw Error("the ensemble's weights are all zero; give at least one positive weight");
  const Model& first = members.front();
  for (size_t i = 0; i < members.size(); ++i) {
    const Model& m = members[i];
    const std::string which = "ensemble member " + std::to_string(i);
    if (m.is_ensemble()) throw Error(which + " is itself an ensemble; give its members instead");
    if (!m.network.built()) throw Error(which + ": its network is not built (train it first)");
    if (m.class_names != first.class_names)
      throw Error(which + " has other class names than member 0; an ensemble combines models of one task");
    if (m.preprocessing.columns != first.preprocessing.columns)
      throw Error(which + " reads other columns than member 0; an ensemble combines models of the same data");
    if (m.loss != first.loss || m.task != first.task || m.num_classes != first.num_classes)
      throw Error(which + " has loss " + m.loss + " and " + std::to_string(m.num_classes) + " classes but member 0 has " +
                  first.loss + " and " + std::to_string(first.num_classes) + "; an ensemble combines models of one task");
    if (m.network.input_shape() != first.network.input_shape() || m.network.output_shape() != first.network.output_shape())
      throw Error(which + " maps " + shape_string(m.network.input_shape()) + " to " + shape_string(m.network.output_shape()) +
                  " but member 0 maps " + shape_string(first.network.input_shape()) + " to " +
                  shape_string(first.network.output_shape()) + "; an ensemble combines models of the same data");
  }
  Model ensemble;
  ensemble.loss = first.loss;
  ensemble.task = first.task;
  ensemble.num_classes = first.num_classes;
  ensemble.class_names = first.class_names;
  if (total != 1.0)
    for (double& w : weights) w /= total;
  ensemble.members = std::move(members);
  ensemble.member_weights = std::move(weights);
  return ensemble;
}

namespace {

// The loss's link (softmax, sigmoid) on network outputs; on sequences it applies to each step's outputs.
void apply_link(const Loss& loss, Tensor& out) {
  if (out.rank() != 3) {
    loss.link(out);
    return;
  }
  const Shape shape = out.shape();
  out.reshape({shape[0] * shape[1], shape[2]});
  loss.link(out);
  out.reshape(shape);
}

// The network and output link on inputs already preprocessed (not yet scaled). step_mask (when
// not null): the network's output mask of every batch (Network::output_mask), or empty.
Tensor predict_network(Model& model, Tensor x, int64_t batch_size, Tensor* step_mask) {
  Network& network = model.network;
  if (!network.built()) throw Error("predict: the model's network is not built (train or load a model first)");
  const std::unique_ptr<Loss> loss = make_loss(model.loss);
  // Images saved without their channel axis (28x28 for a model of 28x28x1, data.channels).
  if (x.sample_shape() != network.input_shape() && same_but_unit_axes(x.sample_shape(), network.input_shape())) {
    x.reshape(with_batch(x.batch(), network.input_shape()));
  }
  // A forecast transform reads the windows in the data's units, before and after the network.
  Tensor raw;
  if (model.forecast.enabled) {
    raw = x;
    x = model.forecast.network_inputs(raw);
  } else {
    model.scaler.apply(x);
  }

  const int64_t n = x.batch();
  Shape out_shape = {n};
  for (int64_t d : network.output_shape()) out_shape.push_back(d);
  Tensor out(out_shape);
  const int64_t per_sample = out.features();
  ForwardContext eval;  // training = false: no dropout, batch norm uses running statistics
  Tensor batch;
  if (step_mask) *step_mask = Tensor();
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    const bool whole = begin == 0 && end == n;
    if (!whole) batch = x.rows(begin, end);
    const Tensor& y = network.forward(whole ? x : batch, eval);
    std::memcpy(out.data() + begin * per_sample, y.data(), sizeof(float) * static_cast<size_t>((end - begin) * per_sample));
    if (const Tensor* mask = network.output_mask(); step_mask && mask) {
      const int64_t steps = mask->features();
      if (step_mask->size() == 0) *step_mask = Tensor({n, steps});
      std::memcpy(step_mask->data() + begin * steps, mask->data(), sizeof(float) * static_cast<size_t>((end - begin) * steps));
    }
  }
  apply_link(*loss, out);
  if (model.forecast.enabled) return model.forecast.outputs_from_network(raw, out);
  return out;
}

// predict_network on series windows, one batch at a time: each batch of windows is cut from the
// series, transformed and run, so no (windows, window, columns) copy of the data is made. Every
// step works window by window, so the numbers are those of predict_network on the copied windows.
Tensor predict_windows(Model& model, const Dataset& raw, int64_t batch_size) {
  Network& network = model.network;
  if (!network.built()) throw Error("predict: the model's network is not built (train or load a model first)");
  if (model.preprocessing.active())
    throw Error("predict: the model reads table columns but " + raw.source + " holds series windows");
  const std::unique_ptr<Loss> loss = make_loss(model.loss);
  const int64_t n = raw.size();
  Shape out_shape = {n};
  for (int64_t d : network.output_shape()) out_shape.push_back(d);
  Tensor out(out_shape);
  const int64_t per_sample = out.features();
  ForwardContext eval;
  Tensor batch;
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    raw.rows_x(begin, end, batch);
    if (batch.sample_shape() != network.input_shape() && same_but_unit_axes(batch.sample_shape(), network.input_shape()))
      batch.reshape(with_batch(batch.batch(), network.input_shape()));
    if (model.forecast.enabled) model.forecast.transform_inputs(batch);
    else model.scaler.apply(batch);
    const Tensor& y = network.forward(batch, eval);
    std::memcpy(out.data() + begin * per_sample, y.data(), sizeof(float) * static_cast<size_t>((end - begin) * per_sample));
  }
  apply_link(*loss, out);
  if (!model.forecast.enabled) return out;
  // Back to the data's units: the transform reads each window's raw values again.
  const int64_t outputs = model.forecast.outputs();
  Tensor result({n, outputs});
  for (int64_t begin = 0; begin < n; begin += batch_size) {
    const int64_t end = std::min(n, begin + batch_size);
    raw.rows_x(begin, end, batch);
    const Tensor y = model.forecast.outputs_from_network(batch, out.rows(begin, end));  // checks the width
    std::memcpy(result.data() + begin * outputs, y.data(), sizeof(float) * static_cast<size_t>((end - begin) * outputs));
  }
  return result;
}

// predict on raw tensors or tables: `single(member, mask)` gives one single model's output and
// its step mask.
template <typename Single>
Tensor predict_any(Model& model, int64_t batch_size, Tensor* step_mask, Single single) {
  if (batch_size <= 0) throw Error("predict: batch size must be positive, got " + std::to_string(batch_size));
  if (!model.is_ensemble()) return single(model, step_mask);
  // The mean of the members' linked outputs (probabilities, not logits: as in soft voting).
  Tensor mean, member_mask;
  if (step_mask) *step_mask = Tensor();
  for (size_t i = 0; i < model.members.size(); ++i) {
    const Tensor out = single(model.members[i], step_mask ? &member_mask : nullptr);
    if (i == 0) mean = Tensor(out.shape());
    const float w = static_cast<float>(model.member_weights[i]);
    for (int64_t k = 0; k < out.size(); ++k) mean[k] += w * out[k];
    // A step is padding when any member that masks calls it padding (members read the same data).
    if (step_mask) combine_step_masks(*step_mask, member_mask);
  }
  return mean;
}

}  // namespace

void combine_step_masks(Tensor& mask, const Tensor& other) {
  if (other.size() == 0) return;
  if (mask.size() == 0) {
    mask = other;
    return;
  }
  if (mask.shape() != other.shape())
    throw Error("step masks of shapes " + shape_string(mask.shape()) + " and " + shape_string(other.shape()) +
                " do not combine: the models predict sequences of different lengths");
  for (int64_t k = 0; k < mask.size(); ++k) mask[k] = mask[k] != 0.0f && other[k] != 0.0f ? 1.0f : 0.0f;
}

Tensor predict(Model& model, const Tensor& raw_x, int64_t batch_size, Tensor* step_mask) {
  return predict_any(model, batch_size, step_mask, [&](Model& m, Tensor* mask) {
    return predict_network(m, m.preprocessing.active() ? m.preprocessing.transform(raw_x) : raw_x, batch_size, mask);
  });
}

Tensor predict(Model& model, const Dataset& raw, int64_t batch_size, Tensor* step_mask) {
  return predict_any(model, batch_size, step_mask, [&](Model& m, Tensor* mask) {
    if (raw.windowed()) {
      if (mask) *mask = Tensor();  // series windows are (window, columns) values: no padded steps
      return predict_windows(m, raw, batch_size);
    }
    if (!m.preprocessing.active() && raw.has_text())
      throw Error("the data " + raw.source + " holds text but the model reads numbers only");
    return predict_network(m, m.preprocessing.active() ? m.preprocessing.transform(raw) : raw.x, batch_size, mask);
  });
}

}  // namespace nntune
