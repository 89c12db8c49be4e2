#pragma once
// Training-time image augmentation (TrainConfig::augment): random crop with zero padding,
// horizontal flip and random erasing, applied in place to a batch after it is gathered.
#include <string>

#include "nntune/tensor.hpp"
#include "nntune/trainer.hpp"

namespace nntune::train_detail {

// Why `augment` cannot change samples of `sample_shape` (not images, settings out of range), or
// "" when it can; the message names the key but not where it is set (the caller says that).
std::string augmentation_problem(const Augmentation& augment, const Shape& sample_shape);

// Changes every image of `batch` in place; draws from `rng` in sample order, so a seed gives the
// same images on every run.
void augment_images(Tensor& batch, const Augmentation& augment, Rng& rng);

}  // namespace nntune::train_detail
