#pragma once
// What the update rules share (private to src/train): chunked loops over flat buffers and the
// two forms of weight decay. The per-element loops run over L1-sized chunks, so a chunk of every
// buffer stays in cache while all the updates of the step are applied to it and memory is
// traversed once per step; the arithmetic of a chunk is in optimizer_kernels (one build per
// instruction set, chosen at run time).
#include <algorithm>
#include <string>
#include <vector>

#include "nntune/error.hpp"
#include "nntune/optimizer.hpp"
#include "train/optimizer_kernels.hpp"

namespace nntune::optimizers {

// 1024 floats = 4 KiB per buffer; four buffers fit in L1 together.
constexpr int64_t kChunk = 1024;

template <typename Body>
inline void for_each_chunk(int64_t size, Body&& body) {
  for (int64_t begin = 0; begin < size; begin += kChunk) body(begin, std::min(kChunk, size - begin));
}

inline void check_size(const std::string& optimizer, std::vector<float>& state, int64_t size, float fill) {
  if (state.empty()) {
    state.assign(static_cast<size_t>(size), fill);
  } else if (static_cast<int64_t>(state.size()) != size) {
    throw Error("optimizer '" + optimizer + "': parameter count changed from " + std::to_string(state.size()) +
                " to " + std::to_string(size) + " between steps; call reset() or make a new optimizer");
  }
}

// The two forms of weight decay, one per optimiser, applied chunk by chunk inside the update
// loop (one pass over memory). Decoupled: w *= (1 - lr wd) before the update. Coupled: the
// update sees g + wd w, built in a chunk-sized scratch buffer (the caller's gradients stay
// untouched).
class WeightDecay {
 public:
  explicit WeightDecay(const OptimizerConfig& c)
      : decoupled_(c.decoupled_weight_decay && c.weight_decay > 0.0 ? c.weight_decay : 0.0),
        coupled_(!c.decoupled_weight_decay && c.weight_decay > 0.0 ? static_cast<float>(c.weight_decay) : 0.0f) {}

  void decay(float* params, int64_t n, double lr) const {
    if (decoupled_ <= 0.0) return;
    optimizer_kernels::kernels().scale(params, n, static_cast<float>(1.0 - lr * decoupled_));
  }

  // The gradient chunk the update uses: grads itself, or grads + wd * params.
  const float* gradient(const float* grads, const float* params, int64_t n) {
    if (coupled_ == 0.0f) return grads;
    if (static_cast<int64_t>(scratch_.size()) < n) scratch_.resize(static_cast<size_t>(n));
    optimizer_kernels::kernels().add_scaled(scratch_.data(), grads, params, n, coupled_);
    return scratch_.data();
  }

 private:
  double decoupled_;
  float coupled_;
  std::vector<float> scratch_;
};

}  // namespace nntune::optimizers
