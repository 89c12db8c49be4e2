// In-process storage: every study and trial in plain containers behind one mutex. For tests,
// examples and single-process runs that need no file.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <mutex>

#include "nntune/error.hpp"
#include "storage/storage_internal.hpp"

namespace nntune::tune {
namespace {

class MemoryStorage : public Storage {
 public:
  std::string url() const override { return "memory"; }

  int64_t create_study(const std::string& name, Direction direction) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, study] : studies_)
      if (study.summary.name == name)
        throw Error("a study named \"" + name + "\" already exists in memory storage: open it or choose another name");
    const int64_t id = next_study_id_++;
    StudyData& study = studies_[id];
    study.summary.id = id;
    study.summary.name = name;
    study.summary.direction = direction;
    study.summary.created = unix_now();
    return id;
  }

  std::optional<int64_t> find_study(const std::string& name) override {
    std::lock_guard lock(mutex_);
    for (const auto& [id, study] : studies_)
      if (study.summary.name == name) return id;
    return std::nullopt;
  }

  StudySummary get_study(int64_t study_id) override {
    std::lock_guard lock(mutex_);
    return summary_of(study_or_throw(study_id));
  }

  std::vector<StudySummary> list_studies() override {
    std::lock_guard lock(mutex_);
    std::vector<StudySummary> out;
    for (const auto& [id, study] : studies_) out.push_back(summary_of(study));
    return out;
  }

  void delete_study(int64_t study_id) override {
    std::lock_guard lock(mutex_);
    StudyData& study = study_or_throw(study_id);
    for (int64_t trial_id : study.trial_ids) trials_.erase(trial_id);
    studies_.erase(study_id);
  }

  void set_study_system_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    std::lock_guard lock(mutex_);
    study_or_throw(study_id).summary.system_attrs[key] = value;
  }

  void set_study_user_attr(int64_t study_id, const std::string& key, const nlohmann::json& value) override {
    std::lock_guard lock(mutex_);
    study_or_throw(study_id).summary.user_attrs[key] = value;
  }

  FrozenTrial create_trial(int64_t study_id, const FrozenTrial* from) override {
    std::lock_guard lock(mutex_);
    StudyData& study = study_or_throw(study_id);
    FrozenTrial trial = detail::new_trial_from_template(from);
    trial.id = next_trial_id_++;
    trial.number = static_cast<int64_t>(study.trial_ids.size());
    study.trial_ids.push_back(trial.id);
    trials_[trial.id] = TrialData{study_id, trial, unix_now()};
    return trial;
  }

  std::optional<FrozenTrial> claim_waiting_trial(int64_t study_id) override {
    std::lock_guard lock(mutex_);
    StudyData& study = study_or_throw(study_id);
    for (int64_t trial_id : study.trial_ids) {
      TrialData& data = trials_.at(trial_id);
      if (data.trial.state != TrialState::Waiting) continue;
      data.trial.state = TrialState::Running;
      data.trial.start_time = unix_now();
      data.heartbeat = data.trial.start_time;
      return data.trial;
    }
    return std::nullopt;
  }

  void set_trial_param(int64_t trial_id, const std::string& name, double internal,
                       const Distribution& distribution) override {
    std::lock_guard lock(mutex_);
    FrozenTrial& trial = unfinished_trial_or_throw(trial_id, "set parameter \"" + name + "\" of");
    trial.params[name] = internal;
    trial.distributions[name] = distribution;
  }

  void set_intermediate_value(int64_t trial_id, int64_t step, double value) override {
    std::lock_guard lock(mutex_);
    unfinished_trial_or_throw(trial_id, "report step " + std::to_string(step) + " of").intermediate[step] = value;
  }

  void set_trial_user_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) override {
    std::lock_guard lock(mutex_);
    trial_or_throw(trial_id).trial.user_attrs[key] = value;
  }

  void set_trial_system_attr(int64_t trial_id, const std::string& key, const nlohmann::json& value) override {
    std::lock_guard lock(mutex_);
    trial_or_throw(trial_id).trial.system_attrs[key] = value;
  }

  bool finish_trial(int64_t trial_id, TrialState state, std::optional<double> value,
                    const std::string& error) override {
    detail::check_finish_state(state);
    std::lock_guard lock(mutex_);
    FrozenTrial& trial = trial_or_throw(trial_id).trial;
    if (trial.state != TrialState::Running) return false;
    trial.state = state;
    trial.value = value && !std::isnan(*value) ? value : std::nullopt;
    trial.error = error;
    trial.end_time = unix_now();
    return true;
  }

  bool fail_trial(int64_t trial_id, FailureKind kind, const std::string& error,
                  std::optional<double> value) override {
    std::lock_guard lock(mutex_);
    FrozenTrial& trial = trial_or_throw(trial_id).trial;
    if (trial.state != TrialState::Running) return false;
    trial.state = TrialState::Failed;
    trial.value = value && !std::isnan(*value) ? value : std::nullopt;
    trial.error = error;
    trial.end_time = unix_now();
    trial.system_attrs[kFailureAttr] = to_string(kind);
    return true;
  }

  void record_heartbeat(int64_t trial_id) override {
    std::lock_guard lock(mutex_);
    trial_or_throw(trial_id).heartbeat = unix_now();
  }

  std::vector<FrozenTrial> fail_stale_trials(int64_t study_id, double grace_seconds) override {
    std::lock_guard lock(mutex_);
    const double now = unix_now();
    std::vector<FrozenTrial> failed;
    for (int64_t trial_id : study_or_throw(study_id).trial_ids) {
      TrialData& data = trials_.at(trial_id);
      if (data.trial.state != TrialState::Running || now - data.heartbeat <= grace_seconds) continue;
      data.trial.state = TrialState::Failed;
      data.trial.error = detail::stale_message(now - data.heartbeat);
      data.trial.system_attrs[kFailureAttr] = to_string(FailureKind::StaleHeartbeat);
      data.trial.end_time = now;
      failed.push_back(data.trial);
    }
    return failed;
  }

  FrozenTrial get_trial(int64_t trial_id) override {
    std::lock_guard lock(mutex_);
    return trial_or_throw(trial_id).trial;
  }

  std::vector<FrozenTrial> get_all_trials(int64_t study_id) override {
    std::lock_guard lock(mutex_);
    std::vector<FrozenTrial> out;
    const StudyData& study = study_or_throw(study_id);
    out.reserve(study.trial_ids.size());
    for (int64_t trial_id : study.trial_ids) out.push_back(trials_.at(trial_id).trial);
    return out;
  }

  std::vector<FrozenTrial> get_trials_from(int64_t study_id, int64_t first_number) override {
    std::lock_guard lock(mutex_);
    std::vector<FrozenTrial> out;
    const StudyData& study = study_or_throw(study_id);
    for (size_t number = static_cast<size_t>(std::max<int64_t>(first_number, 0)); number < study.trial_ids.size(); ++number)
      out.push_back(trials_.at(study.trial_ids[number]).trial);
    return out;
  }

 private:
  struct StudyData {
    StudySummary summary;
    std::vector<int64_t> trial_ids;  // in number order
  };
  struct TrialData {
    int64_t study_id = -1;
    FrozenTrial trial;
    double heartbeat = 0.0;
  };

  StudySummary summary_of(const StudyData& study) const {
    StudySummary summary = study.summary;
    summary.n_trials = static_cast<int64_t>(study.trial_ids.size());
    return summary;
  }
  StudyData& study_or_throw(int64_t study_id) {
    auto found = studies_.find(study_id);
    if (found == studies_.end())
      throw Error("no study with id " + std::to_string(study_id) + " in memory storage (deleted?)");
    return found->second;
  }
  TrialData& trial_or_throw(int64_t trial_id) {
    auto found = trials_.find(trial_id);
    if (found == trials_.end())
      throw Error("no trial with id " + std::to_string(trial_id) + " in memory storage (its study was deleted?)");
    return found->second;
  }
  FrozenTrial& unfinished_trial_or_throw(int64_t trial_id, const std::string& action) {
    FrozenTrial& trial = trial_or_throw(trial_id).trial;
    if (is_finished(trial.state))
      throw Error("cannot " + action + " trial " + std::to_string(trial.number) + ": it is already " +
                  to_string(trial.state));
    return trial;
  }

  std::mutex mutex_;
  std::map<int64_t, StudyData> studies_;
  std::map<int64_t, TrialData> trials_;
  int64_t next_study_id_ = 1;
  int64_t next_trial_id_ = 1;
};

}  // namespace

std::shared_ptr<Storage> make_memory_storage() { return std::make_shared<MemoryStorage>(); }

}  // namespace nntune::tune
