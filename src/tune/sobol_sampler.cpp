// Quasi-random search with a scrambled Sobol sequence.
//
// Direction numbers: Boost.Random's Sobol table and its construction of the direction integers
// (boost/random/sobol.hpp), which hold S. Joe and F. Y. Kuo, "Constructing Sobol sequences with
// better two-dimensional projections", SIAM J. Sci. Comput. 30 (2008) 2635-2654, table
// new-joe-kuo-6.21201, for the first 3667 dimensions. Points follow the Gray-code order, so the
// unscrambled sequence matches the usual one (0, 1/2, 3/4, 1/4, ... in dimension 1).
// Scrambling: a random lower-triangular binary matrix per dimension (linear matrix scrambling)
// plus a random digital shift, both drawn from the seed; this keeps the (t, m, s)-net property,
// so the first 2^k points still fall one in each of 2^k equal bins of every coordinate.
//
// Trial number n takes point n, so parallel workers and resumed studies never repeat a point.
// Parameter k in name order is dimension k; parameters past the 3667th are drawn at random.
#include <algorithm>
#include <array>
#include <memory>
#include <mutex>
#include <set>

#include <boost/random/sobol.hpp>

#include "tune/samplers.hpp"
#include "tune/sampling_util.hpp"
#include "tune/sobol_sequence.hpp"
#include "tune/sampler_registry.hpp"

namespace nntune::tune {
namespace detail {

static_assert(SobolSequence::kMaxDimensions == boost::random::default_sobol_table::max_dimension,
              "SobolSequence::kMaxDimensions must be the size of Boost's Sobol table");

SobolSequence::SobolSequence(int dimensions, bool scramble, uint64_t seed) : dimensions_(dimensions) {
  if (dimensions < 1 || dimensions > kMaxDimensions)
    throw std::invalid_argument("Sobol sequence supports 1.." + std::to_string(kMaxDimensions) + " dimensions");
  // Boost's lattice holds direction integer k of dimension d at k * dimensions + d, already
  // shifted to the top of a 32-bit word (the form the Gray-code update XORs in).
  const boost::random::qrng_detail::sobol_lattice<uint32_t, kBits, boost::random::default_sobol_table> lattice(
      static_cast<size_t>(dimensions));
  directions_.assign(static_cast<size_t>(dimensions), std::array<uint32_t, kBits>{});
  shifts_.assign(static_cast<size_t>(dimensions), 0);
  for (int d = 0; d < dimensions; ++d) {
    auto& v = directions_[static_cast<size_t>(d)];
    for (int k = 0; k < kBits; ++k)
      v[static_cast<size_t>(k)] = *lattice.iter_at(static_cast<size_t>(k) * static_cast<size_t>(dimensions) +
                                                   static_cast<size_t>(d));
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
  explicit SobolSampler(uint64_t seed) : seed_(seed) {}
  std::string name() const override { return "sobol"; }

  double sample_independent(const StudyHistory& history, const FrozenTrial& trial, const std::string& name,
                            const Distribution& distribution) override {
    // Dimension = rank of the name among every parameter name met so far (sorted), which is
    // stable for a fixed space and needs no state beyond the history. The names of finished
    // trials are remembered, so each call scans only the trials added since.
    double u;
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
      const int dimension = static_cast<int>(std::distance(names.begin(), names.find(name)));
      if (dimension >= detail::SobolSequence::kMaxDimensions) {
        auto rng = detail::proposal_rng(seed_, trial.number, "sobol/" + name);
        u = detail::uniform01(rng);
      } else {
        u = sequence(dimension).point(static_cast<uint64_t>(trial.number), dimension);
      }
    }
    return detail::value_from_unit(distribution, u);
  }

 private:
  // A sequence with at least dimension + 1 dimensions (caller holds mutex_). It grows by
  // doubling, and since each dimension scrambles from (seed, dimension) alone, growing does not
  // move the points of the dimensions already in use.
  const detail::SobolSequence& sequence(int dimension) {
    if (!sequence_ || sequence_->dimensions() <= dimension) {
      const int size = std::min(detail::SobolSequence::kMaxDimensions,
                                std::max({dimension + 1, 2 * (sequence_ ? sequence_->dimensions() : 0), 32}));
      sequence_ = std::make_unique<detail::SobolSequence>(size, true, seed_);
    }
    return *sequence_;
  }

  uint64_t seed_;
  std::mutex mutex_;
  std::unique_ptr<detail::SobolSequence> sequence_;  // built on first use, grown when needed
  std::set<std::string> known_names_;                // parameter names of history.trials[0, scanned_)
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
