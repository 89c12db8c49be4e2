// Saving and loading models: bit-identical round trips, every kind of damaged file, atomic saves.
#include <cmath>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <vector>
#include <functional>

#include <zlib.h>

#include <unistd.h>

#include "nn/model_io_faults.hpp"
#include "nntune/error.hpp"
#include "nntune/model.hpp"
#include "test_util.hpp"

namespace nntune {
namespace {

using testing::read_file;
using testing::TempDir;
using testing::write_file;

Tensor random_inputs(int64_t n, int64_t features, uint64_t seed) {
  Rng rng(seed);
  std::normal_distribution<float> normal(2.0f, 3.0f);
  Tensor x({n, features});
  for (int64_t i = 0; i < x.size(); ++i) x[i] = normal(rng);
  return x;
}

// dense -> batch_norm -> dropout -> dense, trained for a few forward passes so the batch-norm
// running statistics are not their initial values.
Model make_classifier() {
  const nlohmann::json config = {
      {"input_shape", {4}},
      {"layers",
       {{{"type", "dense"}, {"units", 8}, {"activation", "relu"}, {"l2", 1e-4}},
        {{"type", "batch_norm"}},
        {{"type", "dropout"}, {"rate", 0.3}},
        {{"type", "dense"}, {"units", 3}}}}};
  Rng rng(42);
  Model model;
  model.network = Network::from_config(config, rng);
  const Tensor train = random_inputs(64, 4, 7);
  model.scaler.kind = "standard";
  model.scaler.fit(train);
  Tensor scaled = train;
  model.scaler.apply(scaled);
  ForwardContext training{true, &rng};
  for (int i = 0; i < 3; ++i) model.network.forward(scaled, training);
  model.loss = "categorical_crossentropy";
  model.task = Task::Classification;
  model.num_classes = 3;
  model.metadata = {{"spec", {{"epochs", 5}}}, {"note", "round trip"}};
  return model;
}

std::vector<std::string> leftovers(const std::filesystem::path& dir) {
  std::vector<std::string> names;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    const std::string name = entry.path().filename().string();
    if (name.find(".tmp-") != std::string::npos) names.push_back(name);
  }
  return names;
}

TEST(ModelIo, RoundTripIsBitIdentical) {
  TempDir dir;
  Model model = make_classifier();
  const std::string path = dir.file("model.nnt");
  save_model(model, path);
  Model loaded = load_model(path);

  EXPECT_EQ(loaded.network.config(), model.network.config());
  ASSERT_EQ(loaded.network.parameters().size(), model.network.parameters().size());
  EXPECT_EQ(std::memcmp(loaded.network.parameters().data(), model.network.parameters().data(),
                        4 * model.network.parameters().size()),
            0);
  const std::vector<float> state = model.network.state();
  ASSERT_EQ(state.size(), 16u);  // running mean and variance of 8 features
  EXPECT_EQ(loaded.network.state(), state);
  EXPECT_NE(state[0], 0.0f);  // the statistics moved, so the test sees them
  EXPECT_EQ(loaded.scaler.kind, "standard");
  EXPECT_EQ(loaded.scaler.offset, model.scaler.offset);
  EXPECT_EQ(loaded.scaler.factor, model.scaler.factor);
  EXPECT_EQ(loaded.loss, "categorical_crossentropy");
  EXPECT_EQ(loaded.task, Task::Classification);
  EXPECT_EQ(loaded.num_classes, 3);
  EXPECT_EQ(loaded.metadata, model.metadata);

  const Tensor raw = random_inputs(37, 4, 99);
  const Tensor before = predict(model, raw, 10);
  const Tensor after = predict(loaded, raw, 10);
  ASSERT_EQ(after.shape(), (Shape{37, 3}));
  EXPECT_EQ(std::memcmp(before.data(), after.data(), 4 * static_cast<size_t>(before.size())), 0);

  // Saving the loaded model again gives the same bytes.
  save_model(loaded, dir.file("again.nnt"));
  EXPECT_EQ(read_file(dir.file("again.nnt")), read_file(path));
}

TEST(ModelIo, PredictScalesRunsInEvalModeAndAppliesTheSoftmaxLink) {
  Model model = make_classifier();
  const Tensor raw = random_inputs(25, 4, 3);
  const Tensor probabilities = predict(model, raw, 7);
  // By hand: scale, forward in evaluation mode (dropout off), softmax per row.
  Tensor x = raw;
  model.scaler.apply(x);
  const Tensor logits = model.network.forward(x, ForwardContext{});
  for (int64_t r = 0; r < 25; ++r) {
    double max = -1e30, total = 0.0;
    for (int64_t c = 0; c < 3; ++c) max = std::max<double>(max, logits[r * 3 + c]);
    for (int64_t c = 0; c < 3; ++c) total += std::exp(logits[r * 3 + c] - max);
    for (int64_t c = 0; c < 3; ++c)
      EXPECT_NEAR(probabilities[r * 3 + c], std::exp(logits[r * 3 + c] - max) / total, 1e-5) << r << "," << c;
  }
  // Deterministic: no dropout at prediction time, whatever the batch size.
  const Tensor again = predict(model, raw, 1000);
  for (int64_t i = 0; i < again.size(); ++i) EXPECT_NEAR(again[i], probabilities[i], 1e-6);
}

TEST(ModelIo, RegressionModelPredictsRawOutputs) {
  TempDir dir;
  Rng rng(5);
  Model model;
  model.network = Network::from_config({{"input_shape", {3}}, {"layers", {{{"type", "dense"}, {"units", 2}}}}}, rng);
  model.loss = "mse";
  model.task = Task::Regression;
  model.scaler.kind = "divide";
  model.scaler.divide_by = 4.0f;
  save_model(model, dir.file("r.nnt"));
  Model loaded = load_model(dir.file("r.nnt"));
  EXPECT_EQ(loaded.task, Task::Regression);
  EXPECT_EQ(loaded.scaler.divide_by, 4.0f);
  const Tensor raw({2, 3}, {4, 8, -4, 0, 2, 1});
  const Tensor out = predict(loaded, raw);
  Tensor x({2, 3}, {1, 2, -1, 0, 0.5f, 0.25f});
  const Tensor& expected = model.network.forward(x, ForwardContext{});
  for (int64_t i = 0; i < 4; ++i) EXPECT_FLOAT_EQ(out[i], expected[i]);
}

TEST(ModelIo, SaveCreatesParentDirectoriesAndRejectsUnbuiltNetworks) {
  TempDir dir;
  Model model = make_classifier();
  const std::string nested = dir.file("runs/a/b/model.nnt");
  save_model(model, nested);
  EXPECT_TRUE(std::filesystem::exists(nested));
  EXPECT_TRUE(leftovers(dir.path() / "runs/a/b").empty());
  Model empty;
  EXPECT_ERROR_CONTAINS(save_model(empty, dir.file("x.nnt")), "x.nnt", "not built");
  model.metadata = {{"note", std::string("bad byte \xff")}};
  EXPECT_ERROR_CONTAINS(save_model(model, dir.file("y.nnt")), "y.nnt", "UTF-8");
  EXPECT_FALSE(std::filesystem::exists(dir.file("y.nnt")));
}

TEST(ModelIoErrors, MissingFile) {
  TempDir dir;
  EXPECT_ERROR_CONTAINS(load_model(dir.file("none.nnt")), "none.nnt", "No such file");
}

TEST(ModelIoErrors, TruncatedAtManyPoints) {
  TempDir dir;
  const std::string path = dir.file("model.nnt");
  save_model(make_classifier(), path);
  const std::string whole = read_file(path);
  const size_t header_length = static_cast<unsigned char>(whole[12]) | static_cast<unsigned char>(whole[13]) << 8;
  const std::vector<size_t> cuts = {4,  8, 10, 14, 16, 20, 16 + header_length / 2, 16 + header_length,
                                    16 + header_length + 10, whole.size() - 5, whole.size() - 1};
  for (size_t cut : cuts) {
    const std::string cut_path = dir.file("cut.nnt");
    write_file(cut_path, whole.substr(0, cut));
    EXPECT_ERROR_CONTAINS(load_model(cut_path), "cut.nnt", "truncated");
  }
  write_file(dir.file("empty.nnt"), "");
  EXPECT_ERROR_CONTAINS(load_model(dir.file("empty.nnt")), "empty.nnt", "empty");
  write_file(dir.file("cut.nnt"), whole.substr(0, whole.size() - 9));
  EXPECT_ERROR_CONTAINS(load_model(dir.file("cut.nnt")), "expected " + std::to_string(whole.size()) + " bytes",
                        "got " + std::to_string(whole.size() - 9));
}

TEST(ModelIoErrors, FlippedByteFailsTheChecksum) {
  TempDir dir;
  const std::string path = dir.file("model.nnt");
  save_model(make_classifier(), path);
  const std::string whole = read_file(path);
  const size_t header_length = static_cast<unsigned char>(whole[12]) | static_cast<unsigned char>(whole[13]) << 8;
  // A parameter byte, a header byte and a checksum byte.
  for (size_t at : {16 + header_length + 5, size_t{16 + 3}, whole.size() - 2}) {
    std::string damaged = whole;
    damaged[at] = static_cast<char>(damaged[at] ^ 0x10);
    write_file(dir.file("bad.nnt"), damaged);
    EXPECT_ERROR_CONTAINS(load_model(dir.file("bad.nnt")), "bad.nnt", "corrupt", "checksum");
  }
}

TEST(ModelIoErrors, ForeignFile) {
  TempDir dir;
  write_file(dir.file("notes.txt"), "These are not the weights you are looking for.\n");
  EXPECT_ERROR_CONTAINS(load_model(dir.file("notes.txt")), "notes.txt", "not an nntune model");
  write_file(dir.file("tiny"), "NN!");
  EXPECT_ERROR_CONTAINS(load_model(dir.file("tiny")), "tiny", "not an nntune model");
}

TEST(ModelIoErrors, NewerFormatVersion) {
  TempDir dir;
  const std::string path = dir.file("model.nnt");
  save_model(make_classifier(), path);
  std::string bytes = read_file(path);
  bytes[8] = 4;
  write_file(path, bytes);
  EXPECT_ERROR_CONTAINS(load_model(path), "model.nnt", "written by a newer nntune, version 4",
                        "this one reads up to 3");
}

TEST(ModelIoAtomicSave, FailureAtAnyStageLeavesTheExistingModelAndNoTemporaryFile) {
  TempDir dir;
  const std::string path = dir.file("model.nnt");
  save_model(make_classifier(), path);
  const std::string original = read_file(path);
  Model other = make_classifier();
  other.network.parameters()[0] += 1.0f;
  for (const std::string stage : {"temp_created", "written", "synced"}) {
    detail::save_model_fault_hook = [&](const std::string& at) {
      if (at == stage) throw Error("injected fault at " + at);
    };
    EXPECT_ERROR_CONTAINS(save_model(other, path), "injected fault at " + stage);
    detail::save_model_fault_hook = nullptr;
    EXPECT_EQ(read_file(path), original) << stage;
    EXPECT_TRUE(leftovers(dir.path()).empty()) << stage;
    EXPECT_NO_THROW(load_model(path));
  }
  // Without a fault the new model replaces the old one.
  save_model(other, path);
  EXPECT_NE(read_file(path), original);
  EXPECT_EQ(load_model(path).network.parameters()[0], other.network.parameters()[0]);
}

TEST(ModelIoAtomicSave, TargetIsADirectory) {
  TempDir dir;
  std::filesystem::create_directory(dir.file("model.nnt"));
  EXPECT_ERROR_CONTAINS(save_model(make_classifier(), dir.file("model.nnt")), "cannot save model", "model.nnt",
                        "directory");
  EXPECT_TRUE(std::filesystem::is_directory(dir.file("model.nnt")));
  EXPECT_TRUE(leftovers(dir.path()).empty());
  write_file(dir.file("file"), "x");
  EXPECT_ERROR_CONTAINS(save_model(make_classifier(), dir.file("file/model.nnt")), "cannot create directory");
}

TEST(ModelIoAtomicSave, ReadOnlyDirectoryLeavesTheExistingModelUntouched) {
  if (::geteuid() == 0) GTEST_SKIP() << "root ignores directory permissions";
  TempDir dir;
  const std::string path = dir.file("model.nnt");
  save_model(make_classifier(), path);
  const std::string original = read_file(path);
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_read | std::filesystem::perms::owner_exec);
  Model other = make_classifier();
  other.network.parameters()[0] += 1.0f;
  EXPECT_ERROR_CONTAINS(save_model(other, path), "cannot save model", "model.nnt", "writable");
  std::filesystem::permissions(dir.path(), std::filesystem::perms::owner_all);
  EXPECT_EQ(read_file(path), original);
}

// ---- ensembles ----

// Models move, they do not copy: a list of them for make_ensemble.
std::vector<Model> models(Model a, Model b) {
  std::vector<Model> list;
  list.push_back(std::move(a));
  list.push_back(std::move(b));
  return list;
}

// A second classifier of the same shapes with other weights.
Model other_classifier(float shift) {
  Model model = make_classifier();
  for (float& p : model.network.parameters()) p = p * 0.5f + shift;
  model.scaler.offset[0] += 0.25f;  // its own scaler too
  return model;
}

TEST(ModelIoEnsemble, PredictsTheWeightedMeanOfItsMembersProbabilities) {
  Model a = make_classifier(), b = other_classifier(0.1f);
  const Tensor raw = random_inputs(19, 4, 5);
  const Tensor pa = predict(a, raw, 8), pb = predict(b, raw, 8);
  EXPECT_FALSE(a.is_ensemble());
  Model ensemble = make_ensemble(models(std::move(a), std::move(b)), {1.0, 3.0});
  ASSERT_TRUE(ensemble.is_ensemble());
  ASSERT_EQ(ensemble.member_weights.size(), 2u);
  EXPECT_DOUBLE_EQ(ensemble.member_weights[0], 0.25);  // normalised to sum to 1
  EXPECT_DOUBLE_EQ(ensemble.member_weights[1], 0.75);
  EXPECT_EQ(ensemble.input_shape(), (Shape{4}));
  EXPECT_EQ(ensemble.output_shape(), (Shape{3}));
  const Tensor pe = predict(ensemble, raw, 8);
  ASSERT_EQ(pe.shape(), (Shape{19, 3}));
  bool members_differ = false;
  for (int64_t i = 0; i < pe.size(); ++i) {
    EXPECT_NEAR(pe[i], 0.25f * pa[i] + 0.75f * pb[i], 1e-6f) << i;
    members_differ |= std::fabs(pa[i] - pb[i]) > 1e-3f;
  }
  EXPECT_TRUE(members_differ);  // otherwise the mean would not test the weights
}

TEST(ModelIoEnsemble, RoundTripIsBitIdenticalAndWritesFormatVersion2) {
  TempDir dir;
  Model ensemble = make_ensemble(models(make_classifier(), other_classifier(-0.2f)), {2.0, 1.0});
  ensemble.metadata = {{"members", {{{"trial", 7}}, {{"trial", 3}}}}};
  save_model(ensemble, dir.file("ensemble.nnt"));
  save_model(make_classifier(), dir.file("single.nnt"));
  EXPECT_EQ(read_file(dir.file("ensemble.nnt"))[8], 2);  // older nntune refuses it clearly
  EXPECT_EQ(read_file(dir.file("single.nnt"))[8], 1);    // and still reads single models

  Model loaded = load_model(dir.file("ensemble.nnt"));
  ASSERT_TRUE(loaded.is_ensemble());
  ASSERT_EQ(loaded.members.size(), 2u);
  EXPECT_EQ(loaded.member_weights, ensemble.member_weights);
  EXPECT_EQ(loaded.metadata, ensemble.metadata);
  EXPECT_EQ(loaded.loss, "categorical_crossentropy");
  EXPECT_EQ(loaded.num_classes, 3);
  for (size_t m = 0; m < 2; ++m) {
    EXPECT_EQ(loaded.members[m].network.parameters(), ensemble.members[m].network.parameters()) << m;
    EXPECT_EQ(loaded.members[m].network.state(), ensemble.members[m].network.state()) << m;
    EXPECT_EQ(loaded.members[m].scaler.offset, ensemble.members[m].scaler.offset) << m;
  }
  const Tensor raw = random_inputs(11, 4, 8);
  const Tensor before = predict(ensemble, raw), after = predict(loaded, raw);
  EXPECT_EQ(std::memcmp(before.data(), after.data(), 4 * static_cast<size_t>(before.size())), 0);
  save_model(loaded, dir.file("again.nnt"));
  EXPECT_EQ(read_file(dir.file("again.nnt")), read_file(dir.file("ensemble.nnt")));
}

TEST(ModelIoEnsemble, DamagedEnsembleFilesAreRefused) {
  TempDir dir;
  const std::string path = dir.file("ensemble.nnt");
  save_model(make_ensemble(models(make_classifier(), other_classifier(0.3f)), {1.0, 1.0}), path);
  const std::string bytes = read_file(path);
  write_file(path, bytes.substr(0, bytes.size() - 9));
  EXPECT_ERROR_CONTAINS(load_model(path), "ensemble.nnt", "truncated");
  std::string flipped = bytes;
  flipped[bytes.size() - 20] ^= 0x10;
  write_file(path, flipped);
  EXPECT_ERROR_CONTAINS(load_model(path), "ensemble.nnt", "checksum mismatch");
}

// Rewrites a saved model's JSON header with `edit` and recomputes the checksum, as an attacker
// can: the checksum guards against damage, not against crafted files.
std::string crafted_model(const std::string& bytes, const std::function<void(nlohmann::json&)>& edit) {
  uint32_t header_length = 0;
  std::memcpy(&header_length, bytes.data() + 12, 4);
  nlohmann::json header = nlohmann::json::parse(bytes.substr(16, header_length));
  edit(header);
  const std::string text = header.dump();
  std::string out = bytes.substr(0, 12);
  const uint32_t length = static_cast<uint32_t>(text.size());
  out.append(reinterpret_cast<const char*>(&length), 4);
  out += text;
  out += bytes.substr(16 + header_length, bytes.size() - 16 - header_length - 4);
  const uint32_t crc = static_cast<uint32_t>(crc32(0L, reinterpret_cast<const Bytef*>(out.data()), static_cast<uInt>(out.size())));
  out.append(reinterpret_cast<const char*>(&crc), 4);
  return out;
}

TEST(ModelIoErrors, CraftedCountsThatWrapAroundAreRefusedNotRead) {
  TempDir dir;
  const std::string path = dir.file("crafted.nnt");
  save_model(make_classifier(), path);
  const std::string good = read_file(path);
  // A network with far more parameters than the file holds, and a num_state chosen so that
  // 4 * (num_params + num_state) wraps around to the real size of the values.
  const nlohmann::json header = nlohmann::json::parse(good.substr(16, [&] {
    uint32_t n = 0;
    std::memcpy(&n, good.data() + 12, 4);
    return n;
  }()));
  const uint64_t real_values = header["num_params"].get<uint64_t>() + header["num_state"].get<uint64_t>();
  Rng rng(1);
  const nlohmann::json big_config = {{"input_shape", {4}}, {"layers", {{{"type", "dense"}, {"units", 200000}}}}};
  const uint64_t big_params = Network::from_config(big_config, rng).parameters().size();
  write_file(path, crafted_model(good, [&](nlohmann::json& h) {
    h["network"] = big_config;
    h["num_params"] = big_params;
    h["num_state"] = (uint64_t{1} << 62) + real_values - big_params;
  }));
  EXPECT_ERROR_CONTAINS(load_model(path), "crafted.nnt", "corrupt");
  // An architecture far larger than the file: refused before anything is allocated for it.
  write_file(path, crafted_model(good, [&](nlohmann::json& h) {
    h["network"] = {{"input_shape", {4}}, {"layers", {{{"type", "dense"}, {"units", uint64_t{1} << 40}}}}};
  }));
  EXPECT_ERROR_CONTAINS(load_model(path), "crafted.nnt", "units 1099511627776, far larger than the file");
  write_file(path, crafted_model(good, [&](nlohmann::json& h) {
    h["network"] = {{"input_shape", {uint64_t{1} << 40}}, {"layers", {{{"type", "batch_norm"}}}}};
  }));
  EXPECT_ERROR_CONTAINS(load_model(path), "crafted.nnt", "samples of shape (1099511627776,)");
  // A huge num_state alone.
  write_file(path, crafted_model(good, [&](nlohmann::json& h) {
    h["num_state"] = h["num_state"].get<uint64_t>() + (uint64_t{1} << 62);
  }));
  EXPECT_ERROR_CONTAINS(load_model(path), "crafted.nnt", "corrupt");
  // An ensemble whose members claim more values than the file holds.
  save_model(make_ensemble(models(make_classifier(), make_classifier()), {1.0, 1.0}), path);
  const std::string ensemble = read_file(path);
  write_file(path, crafted_model(ensemble, [&](nlohmann::json& h) {
    h["members"][0]["num_state"] = h["members"][0]["num_state"].get<uint64_t>() + (uint64_t{1} << 62);
  }));
  EXPECT_ERROR_CONTAINS(load_model(path), "crafted.nnt");
}

TEST(ModelIoEnsemble, MembersThatDoNotFitAreRefused) {
  EXPECT_ERROR_CONTAINS(make_ensemble({}, {}), "at least one member");
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), make_classifier()), {1.0}),
                        "2 models needs as many weights, got 1");
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), make_classifier()), {1.0, -0.5}), "member 1",
                        "non-negative");
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), make_classifier()), {0.0, 0.0}), "all zero");
  Model wide = make_classifier();
  Rng rng(3);
  wide.network = Network::from_config({{"input_shape", {5}}, {"layers", {{{"type", "dense"}, {"units", 3}}}}}, rng);
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), std::move(wide)), {1.0, 1.0}),
                        "member 1 maps (5,) to (3,)", "member 0 maps (4,) to (3,)");
  Model regression = make_classifier();
  regression.loss = "mse";
  regression.task = Task::Regression;
  regression.num_classes = 0;
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), std::move(regression)), {1.0, 1.0}),
                        "member 1 has loss mse", "one task");
  Model nested = make_ensemble(models(make_classifier(), make_classifier()), {1.0, 1.0});
  EXPECT_ERROR_CONTAINS(make_ensemble(models(std::move(nested), make_classifier()), {1.0, 1.0}),
                        "member 0 is itself an ensemble");
  EXPECT_ERROR_CONTAINS(make_ensemble(models(make_classifier(), Model{}), {1.0, 1.0}), "member 1", "not built");
}


// A classifier over a table: columns w (numeric, imputed), color (one-hot, 2 categories), and
// w's missing indicator: 4 network inputs.
Model make_table_classifier() {
  Preprocessing p;
  p.columns = {"w", "color"};
  p.categories = {{}, {"blue", "red"}};
  p.impute = "mean";
  p.missing_indicator = true;
  p.fill = {2.5f, 1.0f};
  p.indicator_columns = {0};
  const nlohmann::json config = {{"input_shape", {4}}, {"layers", {{{"type", "dense"}, {"units", 3}}}}};
  Rng rng(3);
  Model model;
  model.network = Network::from_config(config, rng);
  model.preprocessing = p;
  model.loss = "categorical_crossentropy";
  model.task = Task::Classification;
  model.num_classes = 3;
  model.class_names = {"setosa", "versicolor", "virginica"};
  return model;
}

TEST(ModelIoTables, PreprocessingAndClassNamesRoundTripAsFormatVersion3) {
  TempDir dir;
  const Model model = make_table_classifier();
  save_model(model, dir.file("table.nnt"));
  EXPECT_EQ(read_file(dir.file("table.nnt"))[8], 3);  // older nntune refuses it as newer
  save_model(make_classifier(), dir.file("plain.nnt"));
  EXPECT_EQ(read_file(dir.file("plain.nnt"))[8], 1);  // models without it keep version 1
  Model loaded = load_model(dir.file("table.nnt"));
  EXPECT_EQ(loaded.class_names, model.class_names);
  EXPECT_EQ(loaded.preprocessing.to_json(), model.preprocessing.to_json());
  // Raw rows: w missing in row 0, color "blue" then "red" (the data's own level order differs).
  Dataset raw;
  raw.x = Tensor({2, 2}, {std::nanf(""), 1.0f, 4.0f, 0.0f});
  raw.column_names = {"w", "color"};
  raw.levels = {{}, {"red", "blue"}};
  Model original = make_table_classifier();
  const Tensor a = predict(loaded, raw), b = predict(original, raw);
  EXPECT_EQ(std::memcmp(a.data(), b.data(), 4 * static_cast<size_t>(a.size())), 0);
  // The same as the network on the encoded rows [w, blue, red, w_missing].
  const Tensor encoded({2, 4}, {2.5f, 1.0f, 0.0f, 1.0f, 4.0f, 0.0f, 1.0f, 0.0f});
  Model plain = make_table_classifier();
  plain.preprocessing = Preprocessing{};
  const Tensor c = predict(plain, encoded);
  for (int64_t k = 0; k < a.size(); ++k) EXPECT_FLOAT_EQ(a[k], c[k]) << k;
  // Text columns cannot come as numbers; an unseen category is refused by name.
  EXPECT_ERROR_CONTAINS(predict(loaded, raw.x), "column 'color'", "table");
  raw.levels = {{}, {"purple", "blue"}};
  EXPECT_ERROR_CONTAINS(predict(loaded, raw), "column 'color'", "\"purple\"", "on_unknown");
}

TEST(ModelIoTables, DamagedPreprocessingIsRefused) {
  TempDir dir;
  Model model = make_table_classifier();
  model.preprocessing.categories[1] = {"blue", "green", "red"};  // 5 inputs, the network takes 4
  save_model(model, dir.file("bad.nnt"));
  EXPECT_ERROR_CONTAINS(load_model(dir.file("bad.nnt")), "bad.nnt", "preprocessing gives 5 features");
  model = make_table_classifier();
  model.class_names = {"a", "b"};
  EXPECT_ERROR_CONTAINS(save_model(model, dir.file("names.nnt")), "2 class names for 3 classes");
}

}  // namespace
}  // namespace nntune
