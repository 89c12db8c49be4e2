// fANOVA importance (Hutter, Hoos and Leyton-Brown, ICML 2014) over a regression random forest.
// The forest and the decomposition are written from the paper's definitions; see importance.hpp
// for the choices made (log space, unordered categoricals, subsampling).
#include "report/importance.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>

#include "nntune/error.hpp"

namespace nntune::report {

using detail::FeatureDomain;
using detail::TreeNode;
using detail::TreeVariance;

namespace {

// Uniform integer in [0, n) with a result fixed by the generator alone (std::uniform_int_
// distribution and std::shuffle differ between standard libraries). The modulo bias is below
// 1e-15 for the sizes used here.
uint64_t below(std::mt19937_64& rng, uint64_t n) { return rng() % n; }

template <class T>
void seeded_shuffle(std::vector<T>& items, std::mt19937_64& rng) {
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[below(rng, i)]);
}

// ---- The data: one row per usable trial, one column per parameter ----------------------------

struct Column {
  std::string name;
  tune::Distribution distribution;
  FeatureDomain domain;
  bool single = false;  // one possible value: cannot explain anything, not given to the forest
};

// Whether two trials' distributions of one parameter describe the same axis; numeric ranges may
// differ (a range widened during the study) and are merged by the caller.
bool same_axis(const tune::Distribution& a, const tune::Distribution& b) {
  if (a.kind != b.kind) return false;
  if (a.kind == tune::DistributionKind::Categorical) return a.choices == b.choices;
  return a.log == b.log && a.step == b.step;
}

// The box fANOVA integrates over for one parameter, in the space the forest sees (log for log
// distributions). Grid values (ints, stepped floats) get half a step of margin on each side so
// that each value owns the same width.
FeatureDomain domain_of(const tune::Distribution& d) {
  FeatureDomain domain;
  if (d.kind == tune::DistributionKind::Categorical) {
    domain.n_choices = static_cast<int64_t>(d.choices.size());
    return domain;
  }
  const double margin = d.step > 0 ? d.step / 2 : 0.0;
  double low = d.low - margin, high = d.high + margin;
  if (d.log) {
    low = std::log(low > 0 ? low : d.low);
    high = std::log(high);
  }
  domain.low = low;
  domain.high = high;
  return domain;
}

double feature_value(const Column& column, double internal) {
  if (column.domain.n_choices > 0)
    return std::isnan(internal) ? 0.0
                                : std::clamp(std::round(internal), 0.0, static_cast<double>(column.domain.n_choices - 1));
  const double x = column.distribution.log ? std::log(internal) : internal;
  if (std::isnan(x)) return column.domain.low;  // not a valid value: do not break the sorting
  return std::clamp(x, column.domain.low, column.domain.high);
}

// ---- The forest ---------------------------------------------------------------------------------

struct Dataset {
  int64_t n_rows = 0, n_features = 0;
  std::vector<double> x;  // row-major n_rows x n_features
  std::vector<double> y;  // centred on its mean, for accurate sums of squares
  std::vector<FeatureDomain> domains;
  double at(int64_t row, int64_t feature) const { return x[static_cast<size_t>(row * n_features + feature)]; }
};

struct Split {
  int64_t feature = -1;
  double threshold = 0.0;
  std::vector<uint8_t> left_choices;
  double score = 0.0;  // sum_left^2 / w_left + sum_right^2 / w_right, larger is better
};

// Grows one regression tree on a bootstrap sample, given as a weight (number of draws) per row.
// Every feature keeps its rows sorted by value; a split partitions each list stably, so a node is
// the same index range [begin, end) in every list (CART's presorting, O(rows x features) a level).
class TreeBuilder {
 public:
  TreeBuilder(const Dataset& data, const ImportanceOptions& options, std::mt19937_64& rng,
              const std::vector<std::vector<int32_t>>& rows_by_feature, const std::vector<double>& weight)
      : data_(data), options_(options), rng_(rng), weight_(weight), goes_left_(data.n_rows) {
    order_.resize(static_cast<size_t>(data.n_features));
    for (size_t f = 0; f < order_.size(); ++f)
      for (int32_t row : rows_by_feature[f])
        if (weight_[row] > 0) order_[f].push_back(row);
    features_.resize(static_cast<size_t>(data.n_features));
    std::iota(features_.begin(), features_.end(), 0);
  }

  std::vector<TreeNode> build() {
    if (!order_.empty()) grow(0, order_[0].size(), 0);
    return std::move(nodes_);
  }

 private:
  int64_t grow(size_t begin, size_t end, int64_t depth) {
    const int64_t index = static_cast<int64_t>(nodes_.size());
    nodes_.emplace_back();
    double w = 0, s = 0, q = 0;
    for (size_t i = begin; i < end; ++i) {
      const int32_t row = order_[0][i];
      w += weight_[row];
      s += weight_[row] * data_.y[row];
      q += weight_[row] * data_.y[row] * data_.y[row];
    }
    nodes_[index].value = s / w;
    const double parent_score = s * s / w;
    const double impurity = q - parent_score;  // weighted sum of squared deviations
    if (depth >= options_.max_depth || w < static_cast<double>(options_.min_samples_split) || impurity <= 1e-12 * q)
      return index;

    // All features are candidates (Optuna's forest: max_features = all); the shuffle only
    // decides between equally good splits, as in scikit-learn.
    seeded_shuffle(features_, rng_);
    Split best;
    best.score = parent_score + 1e-12 * q;  // a split must reduce the variance
    for (int64_t f : features_) {
      if (data_.domains[f].n_choices > 0) {
        best_categorical_split(f, begin, end, w, s, best);
      } else {
        best_numeric_split(f, begin, end, w, s, best);
      }
    }
    if (best.feature < 0) return index;

    for (size_t i = begin; i < end; ++i) {
      const int32_t row = order_[0][i];
      const double x = data_.at(row, best.feature);
      goes_left_[row] = best.left_choices.empty() ? x < best.threshold : best.left_choices[static_cast<size_t>(x)];
    }
    size_t middle = begin;
    for (auto& rows : order_) middle = stable_partition(rows, begin, end);

    nodes_[index].feature = best.feature;
    nodes_[index].threshold = best.threshold;
    nodes_[index].left_choices = std::move(best.left_choices);
    const int64_t left = grow(begin, middle, depth + 1);
    const int64_t right = grow(middle, end, depth + 1);
    nodes_[index].left = left;
    nodes_[index].right = right;
    return index;
  }

  bool leaf_sizes_ok(double w_left, double w_right) const {
    const auto min_leaf = static_cast<double>(options_.min_samples_leaf);
    return w_left >= min_leaf && w_right >= min_leaf;
  }

  void best_numeric_split(int64_t f, size_t begin, size_t end, double w, double s, Split& best) const {
    const auto& rows = order_[static_cast<size_t>(f)];
    double w_left = 0, s_left = 0;
    for (size_t i = begin; i + 1 < end; ++i) {
      w_left += weight_[rows[i]];
      s_left += weight_[rows[i]] * data_.y[rows[i]];
      const double x = data_.at(rows[i], f), next = data_.at(rows[i + 1], f);
      if (!(next > x)) continue;  // cut only between distinct values
      const double w_right = w - w_left, s_right = s - s_left;
      if (!leaf_sizes_ok(w_left, w_right)) continue;
      const double score = s_left * s_left / w_left + s_right * s_right / w_right;
      if (score > best.score) {
        best.score = score;
        best.feature = f;
        // Midpoint, kept strictly above x so that "x < threshold" sends x left.
        double threshold = x + (next - x) / 2;
        if (threshold <= x) threshold = next;
        best.threshold = threshold;
        best.left_choices.clear();
      }
    }
  }

  // Unordered choices: for squared error the best two-subset split is a prefix of the choices
  // sorted by their mean value (Breiman et al., CART, 1984), so C - 1 candidates suffice.
  void best_categorical_split(int64_t f, size_t begin, size_t end, double w, double s, Split& best) const {
    const auto n_choices = static_cast<size_t>(data_.domains[f].n_choices);
    std::vector<double> w_choice(n_choices, 0.0), s_choice(n_choices, 0.0);
    for (size_t i = begin; i < end; ++i) {
      const int32_t row = order_[0][i];
      const auto c = static_cast<size_t>(data_.at(row, f));
      w_choice[c] += weight_[row];
      s_choice[c] += weight_[row] * data_.y[row];
    }
    std::vector<size_t> present;
    for (size_t c = 0; c < n_choices; ++c)
      if (w_choice[c] > 0) present.push_back(c);
    if (present.size() < 2) return;
    std::stable_sort(present.begin(), present.end(), [&](size_t a, size_t b) {
      return s_choice[a] / w_choice[a] < s_choice[b] / w_choice[b];
    });
    double w_left = 0, s_left = 0;
    for (size_t k = 0; k + 1 < present.size(); ++k) {
      w_left += w_choice[present[k]];
      s_left += s_choice[present[k]];
      const double w_right = w - w_left, s_right = s - s_left;
      if (!leaf_sizes_ok(w_left, w_right)) continue;
      const double score = s_left * s_left / w_left + s_right * s_right / w_right;
      if (score > best.score) {
        best.score = score;
        best.feature = f;
        best.left_choices.assign(n_choices, 0);
        for (size_t j = 0; j <= k; ++j) best.left_choices[present[j]] = 1;
        // Choices no trial in this node has go with the heavier side: the tree has no evidence
        // about them, and the larger group's value is the better guess.
        if (w_left > w_right)
          for (size_t c = 0; c < n_choices; ++c)
            if (w_choice[c] == 0) best.left_choices[c] = 1;
      }
    }
  }

  size_t stable_partition(std::vector<int32_t>& rows, size_t begin, size_t end) {
    scratch_.clear();
    size_t out = begin;
    for (size_t i = begin; i < end; ++i) {
      if (goes_left_[rows[i]]) {
        rows[out++] = rows[i];
      } else {
        scratch_.push_back(rows[i]);
      }
    }
    std::copy(scratch_.begin(), scratch_.end(), rows.begin() + static_cast<std::ptrdiff_t>(out));
    return out;
  }

  const Dataset& data_;
  const ImportanceOptions& options_;
  std::mt19937_64& rng_;
  const std::vector<double>& weight_;
  std::vector<uint8_t> goes_left_;
  std::vector<std::vector<int32_t>> order_;  // per feature: the tree's rows, sorted by value
  std::vector<int64_t> features_;
  std::vector<int32_t> scratch_;
  std::vector<TreeNode> nodes_;
};

void validate(const ImportanceOptions& options) {
  auto require = [](bool ok, const std::string& what) {
    if (!ok) throw Error("importance options: " + what);
  };
  require(options.n_trees >= 1, "n_trees must be at least 1 (got " + std::to_string(options.n_trees) + ")");
  require(options.max_depth >= 1, "max_depth must be at least 1 (got " + std::to_string(options.max_depth) + ")");
  require(options.min_samples_split >= 2,
          "min_samples_split must be at least 2 (got " + std::to_string(options.min_samples_split) + ")");
  require(options.min_samples_leaf >= 1,
          "min_samples_leaf must be at least 1 (got " + std::to_string(options.min_samples_leaf) + ")");
  require(options.max_trials >= 2, "max_trials must be at least 2 (got " + std::to_string(options.max_trials) + ")");
}

}  // namespace

// ---- fANOVA on one tree ---------------------------------------------------------------------

namespace detail {

namespace {

// The leaves of a tree as boxes: per feature an interval [low, high) or a set of choices.
struct Leaves {
  std::vector<double> value, volume;
  std::vector<double> low, high;     // n_leaves x n_features (intervals)
  std::vector<uint8_t> choices;      // n_leaves x total choices (categoricals)
  std::vector<double> fraction;      // n_leaves x n_features: share of the feature's domain
};

class LeafCollector {
 public:
  LeafCollector(const std::vector<TreeNode>& tree, const std::vector<FeatureDomain>& domains)
      : tree_(tree), domains_(domains), low_(domains.size()), high_(domains.size()) {
    size_t offset = 0;
    for (size_t f = 0; f < domains.size(); ++f) {
      low_[f] = domains[f].low;
      high_[f] = domains[f].high;
      choice_offset_.push_back(offset);
      offset += static_cast<size_t>(std::max<int64_t>(domains[f].n_choices, 0));
    }
    allowed_.assign(offset, 1);
  }

  Leaves collect() {
    visit(0);
    return std::move(leaves_);
  }

 private:
  void visit(int64_t index) {
    const TreeNode& node = tree_[static_cast<size_t>(index)];
    if (node.left < 0 || node.right < 0) return add_leaf(node.value);
    const auto f = static_cast<size_t>(node.feature);
    if (domains_[f].n_choices > 0) {
      const size_t offset = choice_offset_[f];
      const auto n = static_cast<size_t>(domains_[f].n_choices);
      const std::vector<uint8_t> saved(allowed_.begin() + offset, allowed_.begin() + offset + n);
      for (size_t c = 0; c < n; ++c) allowed_[offset + c] = saved[c] && c < node.left_choices.size() && node.left_choices[c];
      visit(node.left);
      for (size_t c = 0; c < n; ++c) allowed_[offset + c] = saved[c] && !(c < node.left_choices.size() && node.left_choices[c]);
      visit(node.right);
      std::copy(saved.begin(), saved.end(), allowed_.begin() + offset);
      return;
    }
    // Thresholds outside the current box give an empty side, which then has no volume.
    const double saved_low = low_[f], saved_high = high_[f];
    const double cut = std::clamp(node.threshold, saved_low, saved_high);
    high_[f] = cut;
    visit(node.left);
    high_[f] = saved_high;
    low_[f] = cut;
    visit(node.right);
    low_[f] = saved_low;
  }

  void add_leaf(double value) {
    double volume = 1.0;
    for (size_t f = 0; f < domains_.size(); ++f) {
      double fraction = 0.0;
      if (domains_[f].n_choices > 0) {
        const auto begin = allowed_.begin() + static_cast<std::ptrdiff_t>(choice_offset_[f]);
        const auto count = std::count(begin, begin + domains_[f].n_choices, uint8_t{1});
        fraction = static_cast<double>(count) / static_cast<double>(domains_[f].n_choices);
      } else {
        fraction = (high_[f] - low_[f]) / (domains_[f].high - domains_[f].low);
      }
      leaves_.fraction.push_back(fraction);
      volume *= fraction;
    }
    leaves_.value.push_back(value);
    leaves_.volume.push_back(volume);
    leaves_.low.insert(leaves_.low.end(), low_.begin(), low_.end());
    leaves_.high.insert(leaves_.high.end(), high_.begin(), high_.end());
    leaves_.choices.insert(leaves_.choices.end(), allowed_.begin(), allowed_.end());
  }

  const std::vector<TreeNode>& tree_;
  const std::vector<FeatureDomain>& domains_;
  std::vector<double> low_, high_;
  std::vector<uint8_t> allowed_;
  std::vector<size_t> choice_offset_;
  Leaves leaves_;
};

}  // namespace

// The tree's prediction is piecewise constant on its leaf boxes, which partition the space, so
// the integrals of fANOVA are sums over leaves:
//   mean = sum vol * v,   total = sum vol * (v - mean)^2.
// The marginal over feature f at a point x_f averages the other features out: the leaves whose
// box contains x_f, each weighted by its volume in the other features (vol / fraction_f). It is
// constant between consecutive leaf boundaries on f (for a categorical, on each choice), and its
// variance over f is the first-order (main effect) variance of f.
TreeVariance tree_variance(const std::vector<TreeNode>& tree, const std::vector<FeatureDomain>& domains) {
  TreeVariance result;
  const size_t n_features = domains.size();
  result.first_order.assign(n_features, 0.0);
  if (tree.empty()) return result;
  const Leaves leaves = LeafCollector(tree, domains).collect();
  const size_t n_leaves = leaves.value.size();

  double mean = 0.0;
  for (size_t l = 0; l < n_leaves; ++l) mean += leaves.volume[l] * leaves.value[l];
  // Centred values keep the marginal sums free of cancellation when the mean is large.
  std::vector<double> centred(n_leaves);
  for (size_t l = 0; l < n_leaves; ++l) {
    centred[l] = leaves.value[l] - mean;
    result.total += leaves.volume[l] * centred[l] * centred[l];
  }
  if (result.total <= 0.0) return result;

  size_t choice_offset = 0;
  std::vector<double> cuts, marginal;
  for (size_t f = 0; f < n_features; ++f) {
    const FeatureDomain& domain = domains[f];
    double variance = 0.0;
    if (domain.n_choices > 0) {
      const auto n = static_cast<size_t>(domain.n_choices);
      marginal.assign(n, 0.0);
      const size_t stride = leaves.choices.size() / n_leaves;
      for (size_t l = 0; l < n_leaves; ++l) {
        const double fraction = leaves.fraction[l * n_features + f];
        if (leaves.volume[l] <= 0.0) continue;
        const double contribution = centred[l] * leaves.volume[l] / fraction;
        for (size_t c = 0; c < n; ++c)
          if (leaves.choices[l * stride + choice_offset + c]) marginal[c] += contribution;
      }
      for (double m : marginal) variance += m * m / static_cast<double>(n);
      choice_offset += n;
    } else {
      cuts.clear();
      for (size_t l = 0; l < n_leaves; ++l) {
        cuts.push_back(leaves.low[l * n_features + f]);
        cuts.push_back(leaves.high[l * n_features + f]);
      }
      std::sort(cuts.begin(), cuts.end());
      cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());
      // Difference array over the intervals [cuts[k], cuts[k+1]): each leaf covers a run of them.
      marginal.assign(cuts.size(), 0.0);
      for (size_t l = 0; l < n_leaves; ++l) {
        if (leaves.volume[l] <= 0.0) continue;
        const double contribution = centred[l] * leaves.volume[l] / leaves.fraction[l * n_features + f];
        const auto first = std::lower_bound(cuts.begin(), cuts.end(), leaves.low[l * n_features + f]) - cuts.begin();
        const auto last = std::lower_bound(cuts.begin(), cuts.end(), leaves.high[l * n_features + f]) - cuts.begin();
        marginal[static_cast<size_t>(first)] += contribution;
        marginal[static_cast<size_t>(last)] -= contribution;
      }
      const double width = domain.high - domain.low;
      double running = 0.0;
      for (size_t k = 0; k + 1 < cuts.size(); ++k) {
        running += marginal[k];
        variance += (cuts[k + 1] - cuts[k]) / width * running * running;
      }
    }
    result.first_order[f] = variance;
  }
  return result;
}

}  // namespace detail

// ---- The study-level function -------------------------------------------------------------------

ImportanceResult parameter_importance(const tune::StudyHistory& history, const ImportanceOptions& options) {
  validate(options);
  ImportanceResult result;

  std::vector<const tune::FrozenTrial*> usable;
  for (const auto& trial : history.trials)
    if (trial.state == tune::TrialState::Complete && trial.value && std::isfinite(*trial.value))
      usable.push_back(&trial);
  if (usable.size() < 2) {
    result.empty_reason = "importance needs at least 2 complete trials with a finite value (the study has " +
                          std::to_string(usable.size()) + ")";
    return result;
  }

  // The intersection space: parameters every usable trial has, on one axis.
  std::set<std::string> all_names, skipped;
  for (const auto* trial : usable)
    for (const auto& [name, value] : trial->params) all_names.insert(name);
  std::vector<Column> columns;
  for (const auto& name : all_names) {
    Column column;
    column.name = name;
    bool shared = true;
    for (const auto* trial : usable) {
      const auto dist = trial->distributions.find(name);
      if (!trial->params.count(name) || dist == trial->distributions.end()) {
        shared = false;
        break;
      }
      if (trial == usable.front()) {
        column.distribution = dist->second;
      } else if (!same_axis(column.distribution, dist->second)) {
        shared = false;
        break;
      } else if (column.distribution.kind != tune::DistributionKind::Categorical) {
        column.distribution.low = std::min(column.distribution.low, dist->second.low);
        column.distribution.high = std::max(column.distribution.high, dist->second.high);
      }
    }
    if (!shared) {
      skipped.insert(name);
      continue;
    }
    column.domain = domain_of(column.distribution);
    column.single = column.distribution.single() ||
                    (column.domain.n_choices == 0 && !(column.domain.high > column.domain.low));
    columns.push_back(std::move(column));
  }
  result.skipped.assign(skipped.begin(), skipped.end());

  std::mt19937_64 rng(options.seed);
  // Large studies: a seeded uniform subsample keeps the forest fast (its cost grows as
  // n log n per tree) while leaving the estimate of main effects essentially unchanged.
  if (static_cast<int64_t>(usable.size()) > options.max_trials) {
    seeded_shuffle(usable, rng);
    usable.resize(static_cast<size_t>(options.max_trials));
    std::sort(usable.begin(), usable.end(),
              [](const auto* a, const auto* b) { return a->number < b->number; });
  }
  result.trials_used = static_cast<int64_t>(usable.size());

  const auto [lowest, highest] = std::minmax_element(usable.begin(), usable.end(), [](const auto* a, const auto* b) {
    return *a->value < *b->value;
  });
  if (!(*(*highest)->value > *(*lowest)->value)) {
    result.empty_reason = "the objective has the same value in every complete trial, so no parameter explains any of it";
    return result;
  }
  if (columns.empty()) {
    result.empty_reason = "no parameter is present in every complete trial";
    return result;
  }

  std::vector<const Column*> features;
  for (const auto& column : columns)
    if (!column.single) features.push_back(&column);

  Dataset data;
  data.n_rows = static_cast<int64_t>(usable.size());
  data.n_features = static_cast<int64_t>(features.size());
  double mean = 0.0;
  for (const auto* trial : usable) mean += *trial->value;
  mean /= static_cast<double>(usable.size());
  for (const auto* trial : usable) {
    data.y.push_back(*trial->value - mean);
    for (const auto* column : features) data.x.push_back(feature_value(*column, trial->params.at(column->name)));
  }
  for (const auto* column : features) data.domains.push_back(column->domain);

  std::vector<std::vector<int32_t>> rows_by_feature(features.size());
  for (size_t f = 0; f < features.size(); ++f) {
    auto& rows = rows_by_feature[f];
    rows.resize(usable.size());
    std::iota(rows.begin(), rows.end(), 0);
    std::stable_sort(rows.begin(), rows.end(), [&](int32_t a, int32_t b) {
      return data.at(a, static_cast<int64_t>(f)) < data.at(b, static_cast<int64_t>(f));
    });
  }

  // Per feature, the per-tree fractions of variance; trees that predict a constant are left out.
  std::vector<std::vector<double>> fractions(features.size());
  std::vector<double> weight(usable.size());
  for (int64_t t = 0; t < options.n_trees; ++t) {
    std::fill(weight.begin(), weight.end(), 0.0);
    for (size_t draw = 0; draw < usable.size(); ++draw) weight[below(rng, usable.size())] += 1.0;
    const auto tree = TreeBuilder(data, options, rng, rows_by_feature, weight).build();
    const auto variance = detail::tree_variance(tree, data.domains);
    if (!(variance.total > 0.0)) continue;
    for (size_t f = 0; f < features.size(); ++f) fractions[f].push_back(variance.first_order[f] / variance.total);
  }
  if (features.empty() || fractions[0].empty()) {
    result.empty_reason = features.empty() ? "every parameter has a single possible value"
                                           : "the random forest found no split that explains the objective";
    return result;
  }

  double total_share = 0.0;
  std::map<std::string, ParameterImportance> by_name;
  for (size_t f = 0; f < features.size(); ++f) {
    const auto& values = fractions[f];
    const double n = static_cast<double>(values.size());
    const double average = std::accumulate(values.begin(), values.end(), 0.0) / n;
    double squares = 0.0;
    for (double v : values) squares += (v - average) * (v - average);
    ParameterImportance importance;
    importance.name = features[f]->name;
    importance.raw_share = average;
    importance.spread = std::sqrt(squares / n);
    by_name[importance.name] = importance;
    total_share += average;
  }
  result.main_effects_share = total_share;
  for (const auto& column : columns) {
    auto& importance = by_name[column.name];
    importance.name = column.name;
    // Normalised to sum 1 as Optuna does; with no main effect at all (pure interactions) every
    // importance stays 0 and main_effects_share says so.
    if (total_share > 0.0) {
      importance.importance = importance.raw_share / total_share;
      importance.spread /= total_share;
    }
    result.parameters.push_back(importance);
  }
  std::stable_sort(result.parameters.begin(), result.parameters.end(),
                   [](const auto& a, const auto& b) { return a.importance > b.importance; });
  return result;
}

}  // namespace nntune::report
