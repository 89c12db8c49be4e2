// Embedding (Keras Embedding, PyTorch nn.Embedding): integer token ids to learned vectors.
// Samples are sequences of ids, shape (steps), stored as floats; the output is (steps, dim),
// row id of the (vocabulary x dim) table per step. With mask_zero (Keras's name), id 0 is
// padding: the layer makes a step mask (ForwardContext::mask) that the recurrent layers after it
// honour, and the vocabulary counts id 0 (vocabulary = the largest id + 1).
// Backward: the table's gradient is a scatter-add of the output gradient into the rows used; ids
// are not differentiable, so nothing flows further back.
#include <cmath>
#include <cstring>

#include "nn/layers/config_check.hpp"
#include "nn/layers/layer_registry.hpp"
#include "nntune/error.hpp"

namespace nntune::layers {
namespace {

class Embedding final : public Layer {
 public:
  Embedding(int64_t vocabulary, int64_t dim, bool mask_zero, Initializer init)
      : vocabulary_(vocabulary), dim_(dim), mask_zero_(mask_zero), init_(std::move(init)) {}

  std::string kind() const override { return "embedding"; }
  bool makes_mask() const override { return mask_zero_; }
  const Tensor* output_mask() const override { return mask_zero_ ? &mask_ : nullptr; }

  Shape build(const Shape& s) override {
    if (s.size() != 1)
      throw Error("embedding layer: needs sequences of token ids, samples of shape (steps), but gets samples of shape " +
                  shape_string(s) + (s.size() == 2 && s[1] == 1 ? "; drop the trailing axis of 1 with {type: reshape, shape: [-1]} first" : ""));
    steps_ = s[0];
    params_.clear();
    params_.push_back({"embeddings", vocabulary_ * dim_, true});
    return {steps_, dim_};
  }

  void init_params(Rng& rng) override { initialize(init_, params_[0].value, params_[0].size, vocabulary_, dim_, rng); }

  void forward(const Tensor& in, Tensor& out, const ForwardContext&) override {
    const int64_t n = in.batch(), count = n * steps_;
    out.resize({n, steps_, dim_});
    ids_.resize(static_cast<size_t>(count));
    if (mask_zero_) mask_.resize({n, steps_});
    const float* table = params_[0].value;
    for (int64_t k = 0; k < count; ++k) {
      const float v = in.data()[k];
      if (!(v >= 0.0f && v < static_cast<float>(vocabulary_)) || v != std::floor(v))
        throw Error("embedding layer: token id " + format_id(v) + " (sample " + std::to_string(k / steps_ + 1) +
                    ", step " + std::to_string(k % steps_ + 1) + ") is not an integer in [0, " +
                    std::to_string(vocabulary_) + "); raise 'vocabulary' to the largest id + 1, or map unknown "
                    "tokens to an id inside it");
      const auto id = static_cast<int64_t>(v);
      ids_[static_cast<size_t>(k)] = id;
      std::memcpy(out.data() + k * dim_, table + id * dim_, sizeof(float) * static_cast<size_t>(dim_));
      if (mask_zero_) mask_.data()[k] = id == 0 ? 0.0f : 1.0f;
    }
  }

  void backward(const Tensor& in, const Tensor&, const Tensor& grad_out, Tensor* grad_in) override {
    float* grad = params_[0].grad;
    std::memset(grad, 0, sizeof(float) * static_cast<size_t>(params_[0].size));
    for (size_t k = 0; k < ids_.size(); ++k) {
      float* row = grad + ids_[k] * dim_;
      const float* g = grad_out.data() + static_cast<int64_t>(k) * dim_;
      for (int64_t j = 0; j < dim_; ++j) row[j] += g[j];
    }
    if (grad_in) {
      grad_in->resize(in.shape());
      grad_in->set_zero();
    }
  }

  nlohmann::json config() const override {
    return {{"type", "embedding"},
            {"vocabulary", vocabulary_},
            {"dim", dim_},
            {"mask_zero", mask_zero_},
            {"init", initializer_config(init_)}};
  }

 private:
  static std::string format_id(float v) {
    if (std::isnan(v)) return "nan";
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "%g", static_cast<double>(v));
    return buffer;
  }

  int64_t vocabulary_, dim_;
  bool mask_zero_;
  Initializer init_;
  int64_t steps_ = 0;
  std::vector<int64_t> ids_;  // of the last forward pass, for backward
  Tensor mask_;
};

const std::vector<schema::Field>& embedding_keys() {
  using namespace schema;
  static const std::vector<Field> keys = {
      req("vocabulary", integer(1.0), "number of token ids: ids are 0 .. vocabulary - 1 (Keras input_dim)"),
      req("dim", integer(1.0), "length of each token's vector (Keras output_dim)"),
      opt("mask_zero", boolean(), false,
          "id 0 is padding: the recurrent layers after it skip those steps (Keras mask_zero)"),
      opt("init", initializer_node(), "uniform", "initialiser of the table (uniform: U(-0.05, 0.05), as Keras)"),
  };
  return keys;
}

std::unique_ptr<Layer> make_embedding(const nlohmann::json& config, const std::string&) {
  ConfigReader reader(config, "embedding", embedding_keys());
  return std::make_unique<Embedding>(reader.integer("vocabulary"), reader.integer("dim"), reader.boolean("mask_zero"),
                                     reader.initializer("init", Initializer{"uniform"}));
}

}  // namespace
}  // namespace nntune::layers

NNTUNE_REGISTER_COMPONENTS(layer_embedding) {
  nntune::layer_registry().add({.name = "embedding",
                                .help = "token ids (steps) to learned vectors (steps, dim); mask_zero makes id 0 padding",
                                .keys = nntune::layers::embedding_keys(),
                                .order = 19,
                                .example = {{"vocabulary", 1000}, {"dim", 32}}},
                               nntune::layers::make_embedding);
}
