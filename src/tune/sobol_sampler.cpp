// Quasi-random search with a scrambled Sobol sequence.
//
// Direction numbers: S. Joe and F. Y. Kuo, "Constructing Sobol sequences with better
// two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654, table
// new-joe-kuo-6.21201 (first 21 dimensions, entered here by hand). Points follow the Gray-code
// order, so the unscrambled sequence matches the usual one (0, 1/2, 3/4, 1/4, ... in dimension 1).
// Scrambling: a random lower-triangular binary matrix per dimension (linear matrix scrambling)
// plus a random digital shift, both drawn from the seed; this keeps the (t, m, s)-net property.
//
// Trial number n takes point n, so parallel workers and resumed studies never repeat a point.
// Parameter k in name order is dimension k; parameters past the 21st are drawn at random.
#include <array>
#include <mutex>
#include <set>

#include "tune/samplers.hpp"
#include "tune/sampling_util.hpp"
#include "tune/sobol_sequence.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::tune {
namespace detail {
namespace {

struct JoeKuoRow {
  int degree;                   // s: degree of the primitive polynomial
  uint32_t coefficients;        // a: its interior coefficients as bits
  std::array<uint32_t, 8> m;    // initial direction integers m_1..m_s
};

// Dimensions 2..21 (dimension 1 is the van der Corput sequence, every m = 1).
constexpr std::array<JoeKuoRow, 20> kJoeKuo = {{
    {1, 0, {1}},
    {2, 1, {1, 3}},
    {3, 1, {1, 3, 1}},
    {3, 2, {1, 1, 1}},
    {4, 1, {1, 1, 3, 3}},
    {4, 4, {1, 3, 5, 13}},
    {5, 2, {1, 1, 5, 5, 17}},
    {5, 4, {1, 1, 5, 5, 5}},
    {5, 7, {1, 1, 7, 11, 19}},
    {5, 11, {1, 1, 5, 1, 1}},
    {5, 13, {1, 1, 1, 3, 11}},
    {5, 14, {1, 3, 5, 5, 31}},
    {6, 1, {1, 3, 3, 9, 7, 49}},
    {6, 13, {1, 1, 1, 15, 21, 21}},
    {6, 16, {1, 3, 1, 13, 27, 49}},
    {6, 19, {1, 1, 1, 15, 7, 5}},
    {6, 22, {1, 3, 1, 15, 13, 25}},
    {6, 25, {1, 1, 5, 5, 19, 61}},
    {7, 1, {1, 3, 7, 11, 23, 15, 103}},
    {7, 4, {1, 3, 7, 13, 13, 15, 69}},
}};

}  // namespace

SobolSequence::SobolSequence(int dimensions, bool scramble, uint64_t seed) : dimensions_(dimensions) {
  if (dimensions < 1 || dimensions > kMaxDimensions)
    throw std::invalid_argument("Sobol sequence supports 1.." + std::to_string(kMaxDimensions) + " dimensions");
  directions_.assign(static_cast<size_t>(dimensions), std::array<uint32_t, kBits>{});
  shifts_.assign(static_cast<size_t>(dimensions), 0);
  for (int d = 0; d < dimensions; ++d) {
    auto& v = directions_[static_cast<size_t>(d)];
    if (d == 0) {
      for (int k = 0; k < kBits; ++k) v[static_cast<size_t>(k)] = 1u << (kBits - 1 - k);
    } else {
      const JoeKuoRow& row = kJoeKuo[static_cast<size_t>(d - 1)];
      const int s = row.degree;
      for (int k = 0; k < s; ++k) v[static_cast<size_t>(k)] = row.m[static_cast<size_t>(k)] << (kBits - 1 - k);
      for (int k = s; k < kBits; ++k) {
        uint32_t next = v[static_cast<size_t>(k - s)] ^ (v[static_cast<size_t>(k - s)] >> s);
        for (int j = 1; j < s; ++j)
          if ((row.coefficients >> (s - 1 - j)) & 1u) next ^= v[static_cast<size_t>(k - j)];
        v[static_cast<size_t>(k)] = next;
      }
    }
    if (!scramble) continue;
    // Linear matrix scrambling: output bit i (from the most significant) becomes the XOR of
    // input bits j <= i selected by row i of a random unit lower-triangular matrix.
    std::mt19937_64 rng(mix64(seed ^ mix64(static_cast<uint64_t>(d) + 1)));
    std::array<uint32_t, kBits> lower{};
    for (int i = 0; i < kBits; ++i) {
      const uint32_t own = 1u << (kBits - 1 - i);
      const uint32_t higher = ~((own - 1u) | own);  // input bits j < i: more significant
      lower[static_cast<size_t>(i)] = (static_cast<uint32_t>(rng()) & higher) | own;
    }
    for (auto& direction : v) {
      uint32_t scrambled = 0;
      for (int i = 0; i < kBits; ++i)
        if (__builtin_parity(lower[static_cast<size_t>(i)] & direction)) scrambled |= 1u << (kBits - 1 - i);
      direction = scrambled;
    }
    shifts_[static_cast<size_t>(d)] = static_cast<uint32_t>(rng());
  }
}

double SobolSequence::point(uint64_t index, int dimension) const {
  const uint64_t gray = index ^ (index >> 1);
  const auto& v = directions_[static_cast<size_t>(dimension)];
  uint32_t x = shifts_[static_cast<size_t>(dimension)];
  for (int k = 0; k < kBits && (gray >> k) != 0; ++k)
    if ((gray >> k) & 1u) x ^= v[static_cast<size_t>(k)];
  return static_cast<double>(x) * 0x1.0p-32;
}

}  // namespace detail

namespace {

class SobolSampler : public Sampler {
 public:
  explicit SobolSampler(uint64_t seed)
      : seed_(seed), sequence_(detail::SobolSequence::kMaxDimensions, true, seed) {}
  std::string name() const override { return "sobol"; }

  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    // Dimension = rank of the name among every parameter name met so far (sorted), which is
    // stable for a fixed space and needs no state beyond the history. The names of finished
    // trials are remembered, so each call scans only the trials added since.
    int dimension;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (scanned_ > history.trials.size()) {  // another history: start over
        known_names_.clear();
        scanned_ = 0;
      }
      std::set<std::string> names = known_names_;
      names.insert(name);
      bool all_finished = true;
      for (size_t i = scanned_; i < history.trials.size(); ++i) {
        const FrozenTrial& t = history.trials[i];
        for (const auto& entry : t.distributions) names.insert(entry.first);
        if (all_finished && is_finished(t.state)) {
          for (const auto& entry : t.distributions) known_names_.insert(entry.first);
          scanned_ = i + 1;
        } else {
          all_finished = false;
        }
      }
      for (const auto& entry : trial.distributions) names.insert(entry.first);
      dimension = static_cast<int>(std::distance(names.begin(), names.find(name)));
    }
    double u;
    if (dimension < detail::SobolSequence::kMaxDimensions) {
      u = sequence_.point(static_cast<uint64_t>(trial.number), dimension);
    } else {
      auto rng = detail::proposal_rng(seed_, trial.number, "sobol/" + name);
      u = detail::uniform01(rng);
    }
    return detail::value_from_unit(distribution, u);
  }

 private:
  uint64_t seed_;
  detail::SobolSequence sequence_;
  std::mutex mutex_;
  std::set<std::string> known_names_;  // parameter names of history.trials[0, scanned_)
  size_t scanned_ = 0;
};

}  // namespace

std::unique_ptr<Sampler> make_sobol_sampler(const SamplerConfig& config) {
  return std::make_unique<SobolSampler>(config.seed);
}

}  // namespace nntune::tune

NNTUNE_REGISTER_COMPONENTS(sampler_sobol) {
  nntune::tune::declare_sampler({.name = "sobol",
                                 .help = "a scrambled Sobol low-discrepancy sequence (quasi-Monte Carlo)",
                                 .order = 2,
                                 .aliases = {"qmc"}},
                                {nntune::tune::make_sobol_sampler, {}});
}
