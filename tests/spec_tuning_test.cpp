// Tuning a spec as a library call (nntune/tune/spec_tuning.hpp): what nntune tune, worker and
// ensemble do, without the command line. The CLI's own behaviour is tested in tune_cli_test and
// worker_test; these check the library contract the CLI and C++ users rely on.
#include "nntune/tune/spec_tuning.hpp"

#include <filesystem>
#include <set>

#include "test_util.hpp"

namespace nntune::tune {
namespace {

using testing::TempDir;
namespace fs = std::filesystem;

const char* const kSpec =
    "seed: 2\n"
    "data:\n"
    "  train: {csv: {path: data.csv, label: label}}\n"
    "  validation: {split: 0.25}\n"
    "  test: {split: 0.2}\n"
    "  scale: standard\n"
    "model:\n"
    "  hidden: [{units: {int: [2, 8]}}]\n"
    "  activation: {choice: [relu, tanh]}\n"
    "train:\n"
    "  optimizer: {name: adam, lr: {float: [0.001, 0.05], log: true}}\n"
    "  batch_size: 8\n"
    "  epochs: 3\n"
    "tune:\n"
    "  sampler: {name: random, seed: 3}\n";

class SpecTuningTest : public ::testing::Test {
 protected:
  void SetUp() override {
    testing::write_file(dir.file("data.csv"), testing::two_class_csv(60));
    testing::write_file(dir.file("spec.yaml"), kSpec);
  }
  std::string storage_url() const { return "sqlite:///" + dir.file("studies.db"); }
  std::vector<std::string> overrides(int trials) const {
    return {"tune.trials=" + std::to_string(trials), "tune.storage=\"" + storage_url() + "\""};
  }
  std::vector<FrozenTrial> stored_trials(const std::string& study) const {
    auto storage = open_storage(storage_url());
    return storage->get_all_trials(*storage->find_study(study));
  }
  TempDir dir;
};

TEST_F(SpecTuningTest, TuneSpecRunsTheBudgetAndReturnsTheBestTrial) {
  TuneSpecOptions options;
  options.overrides = overrides(4);
  int64_t ended = 0;
  const SpecData* shared = nullptr;
  int64_t train_rows = 0;
  options.on_start = [&](const SpecData* data) {
    shared = data;
    train_rows = data ? data->train.size() : -1;
  };
  options.on_trial_end = [&](const Study&, const FrozenTrial&) { ++ended; };
  const TuneSpecResult result = tune_spec(dir.file("spec.yaml"), options);
  EXPECT_EQ(result.study, "spec");  // the spec file's stem
  EXPECT_EQ(result.run.finished_here, 4);
  EXPECT_EQ(ended, 4);
  EXPECT_FALSE(result.run.interrupted);
  EXPECT_NE(shared, nullptr);
  EXPECT_EQ(train_rows, 60 - 12 - 12);  // 20% test, then 25% of the rest for validation

  const std::vector<FrozenTrial> trials = stored_trials("spec");
  ASSERT_EQ(trials.size(), 4u);
  ASSERT_TRUE(result.best.has_value());
  double best = -1.0;
  for (const FrozenTrial& t : trials) {
    ASSERT_EQ(t.state, TrialState::Complete) << t.error;
    best = std::max(best, *t.value);
  }
  EXPECT_EQ(*result.best->value, best);  // val_accuracy is maximised
}

TEST_F(SpecTuningTest, AWorkerJoinsFromTheStoredSpecAndSharesTheBudget) {
  SpecStudy created = open_spec_study(load_tune_spec(dir.file("spec.yaml"), overrides(3)),
                                      {dir.file("spec.yaml"), overrides(3)});
  EXPECT_TRUE(created.created);
  EXPECT_EQ(created.budget.n_trials, 3);
  // The spec file goes: the worker reads the spec stored in the study.
  fs::rename(dir.file("spec.yaml"), dir.file("moved.yaml"));
  SpecStudy worker = join_spec_study(storage_url(), "spec");
  EXPECT_FALSE(worker.created);
  EXPECT_EQ(worker.spec.config.objective.metric, "val_accuracy");
  EXPECT_EQ(worker.budget.n_trials, 3);
  EXPECT_EQ(run_spec_trials(worker, {}).finished_here, 3);
  // The budget is spent: the creator's run adds nothing.
  EXPECT_EQ(run_spec_trials(created, {}).finished_here, 0);
  EXPECT_EQ(stored_trials("spec").size(), 3u);
  // No credential, but the spec's text and overrides, are stored for workers.
  auto storage = open_storage(storage_url());
  const StudySummary summary = storage->get_study(*storage->find_study("spec"));
  EXPECT_TRUE(summary.system_attrs.contains("spec"));
  EXPECT_EQ(summary.system_attrs.at("worker_plan").at("overrides").size(), 1u);  // tune.storage left out
}

TEST_F(SpecTuningTest, EnqueuedTrialsRunFirstAndOnlyWhenTheStudyIsCreated) {
  std::vector<std::string> set = overrides(3);
  // A name with brackets is quoted inside a YAML flow mapping.
  set.push_back(
      "tune.enqueue=[{train.optimizer.lr: 0.0123, \"model.hidden[0].units\": 7}, {model.activation: tanh}]");
  SpecStudy created = open_spec_study(load_tune_spec(dir.file("spec.yaml"), set), {dir.file("spec.yaml"), set});
  EXPECT_EQ(run_spec_trials(created, {}).finished_here, 3);
  std::vector<FrozenTrial> trials = stored_trials("spec");
  ASSERT_EQ(trials.size(), 3u);
  const nlohmann::json first = trials[0].external_params(), second = trials[1].external_params();
  EXPECT_EQ(first.at("train.optimizer.lr"), 0.0123);
  EXPECT_EQ(first.at("model.hidden[0].units"), 7);
  EXPECT_EQ(second.at("model.activation"), "tanh");
  // The unnamed parameters of a point are sampled: the second trial's lr is not the first's.
  EXPECT_NE(second.at("train.optimizer.lr"), 0.0123);
  // Resuming the study (more trials) samples new points instead of enqueueing these again.
  set[0] = "tune.trials=5";
  SpecStudy resumed = open_spec_study(load_tune_spec(dir.file("spec.yaml"), set), {dir.file("spec.yaml"), set});
  EXPECT_FALSE(resumed.created);
  EXPECT_EQ(run_spec_trials(resumed, {}).finished_here, 2);
  trials = stored_trials("spec");
  ASSERT_EQ(trials.size(), 5u);
  for (size_t i = 3; i < 5; ++i) EXPECT_NE(trials[i].external_params().at("train.optimizer.lr"), 0.0123);
}

TEST_F(SpecTuningTest, JoiningAStudyWithoutAStoredSpecSaysHowToStoreOne) {
  auto storage = open_storage(storage_url());
  storage->create_study("bare", Direction::Minimize);
  EXPECT_ERROR_CONTAINS(join_spec_study(storage_url(), "bare"), "study 'bare'", "holds no spec for workers",
                        "run nntune tune");
  EXPECT_ERROR_CONTAINS(join_spec_study(storage_url(), "absent"), "absent");
}

TEST_F(SpecTuningTest, InterruptionStopsTheRunningTrialAfterItsEpochAndStartsNoOther) {
  SpecStudy study = open_spec_study(load_tune_spec(dir.file("spec.yaml"), overrides(5)),
                                    {dir.file("spec.yaml"), overrides(5)});
  SpecTrialOptions options;
  int polls = 0;
  // Asked before the trial and after each epoch: stop after the first trial's second epoch.
  options.interruption = [&] { return ++polls >= 3 ? std::string("test stop") : std::string(); };
  const SpecTrialsResult result = run_spec_trials(study, options);
  EXPECT_TRUE(result.interrupted);
  const std::vector<FrozenTrial> trials = stored_trials("spec");
  ASSERT_EQ(trials.size(), 1u);
  EXPECT_EQ(trials[0].state, TrialState::Failed);
  EXPECT_NE(trials[0].error.find("interrupted (test stop)"), std::string::npos) << trials[0].error;
  EXPECT_EQ(trials[0].intermediate.size(), 1u);  // epoch 1 was reported, epoch 2 was not
}

TEST_F(SpecTuningTest, KeepBestLeavesTheBestModelsAndTheyMakeAnEnsemble) {
  TuneSpecOptions options;
  options.overrides = overrides(5);
  options.save_models = dir.file("models");
  options.keep_best = 2;
  tune_spec(dir.file("spec.yaml"), options);
  const std::vector<FrozenTrial> best = complete_trials_best_first(stored_trials("spec"), Direction::Maximize);
  ASSERT_EQ(best.size(), 5u);
  std::set<std::string> left;
  for (const auto& entry : fs::directory_iterator(dir.file("models"))) left.insert(entry.path().filename().string());
  EXPECT_EQ(left, (std::set<std::string>{"trial_" + std::to_string(best[0].number),
                                         "trial_" + std::to_string(best[1].number)}));

  auto storage = open_storage(storage_url());
  const BuiltEnsemble ensemble = build_ensemble(*storage, "spec", {dir.file("models"), 20, 10, "accuracy"});
  EXPECT_EQ(ensemble.candidates, 2);
  ASSERT_FALSE(ensemble.members.empty());
  double weights = 0.0;
  for (const EnsembleMember& m : ensemble.members) {
    EXPECT_TRUE(m.trial == best[0].number || m.trial == best[1].number);
    weights += m.weight;
  }
  EXPECT_NEAR(weights, 1.0, 1e-12);
  EXPECT_EQ(ensemble.metric, "val_accuracy");
  EXPECT_EQ(ensemble.validation_size, 12);
  ASSERT_TRUE(ensemble.test.has_value());
  ASSERT_TRUE(ensemble.best_single_test.has_value());
  EXPECT_EQ(ensemble.test_size, 12);
  // Chosen on validation data: never worse there than the best single model.
  EXPECT_GE(ensemble.validation.at("accuracy"), ensemble.best_trial_value - 1e-12);
  EXPECT_EQ(ensemble.model.metadata.at("ensemble_of_study"), "spec");
  EXPECT_EQ(ensemble.selected_by, "accuracy");

  // Chosen by the loss: one round is the candidate of lowest validation loss, so no
  // lower than that of any single candidate (the accuracy's one-round pick included), and more
  // rounds never raise it (the best round is kept).
  const BuiltEnsemble by_loss_1 = build_ensemble(*storage, "spec", {dir.file("models"), 20, 1, "loss"});
  const BuiltEnsemble by_accuracy_1 = build_ensemble(*storage, "spec", {dir.file("models"), 20, 1, "val_accuracy"});
  const BuiltEnsemble by_loss = build_ensemble(*storage, "spec", {dir.file("models"), 20, 10, "val_loss"});
  EXPECT_EQ(build_ensemble(*storage, "spec", {dir.file("models"), 20, 10}).selected_by, "loss");  // the default
  EXPECT_EQ(by_loss_1.selected_by, "loss");
  EXPECT_EQ(by_loss.selected_by, "loss");
  EXPECT_LE(by_loss_1.validation.at("loss"), by_accuracy_1.validation.at("loss") + 1e-12);
  EXPECT_LE(by_loss.validation.at("loss"), by_loss_1.validation.at("loss") + 1e-12);
  EXPECT_ERROR_CONTAINS(build_ensemble(*storage, "spec", {dir.file("models"), 20, 10, "accuracyy"}), "unknown metric",
                        "accuracyy");
}

TEST_F(SpecTuningTest, AnEnsembleNeedsSavedModels) {
  TuneSpecOptions options;
  options.overrides = overrides(1);
  tune_spec(dir.file("spec.yaml"), options);
  auto storage = open_storage(storage_url());
  EXPECT_ERROR_CONTAINS(build_ensemble(*storage, "spec", {dir.file("none"), 20, 20}), "no model of a complete trial",
                        "--save-models");
}

}  // namespace
}  // namespace nntune::tune
