// Image augmentation for training (see augmentation.hpp). The three changes and their published
// forms:
//  - crop: pad by p zeros per side, then crop the original size at a uniform offset (the
//    CIFAR recipe of He et al. 2016; torchvision RandomCrop(size, padding=p)): a shift by
//    (dy, dx) uniform in [-p, p]^2 with zeros moved in.
//  - flip: mirror left-right with probability 1/2 (torchvision RandomHorizontalFlip).
//  - erasing (Zhong et al. 2017, torchvision RandomErasing with value 0): with probability e,
//    a rectangle of area s*H*W, s ~ U(min_area, max_area), aspect h/w = r, log r ~
//    U(log min_ratio, log max_ratio), at a uniform position, is set to 0; up to 10 draws for one
//    that fits, else the image is left as is.
#include "train/augmentation.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <random>
#include <vector>

#include "nntune/error.hpp"

namespace nntune::train_detail {
namespace {

struct ImageGeometry {
  int64_t height = 0, width = 0, channels = 1;
  bool channels_first = false;
};

ImageGeometry geometry_of(const Shape& s, bool channels_first) {
  ImageGeometry g;
  g.channels_first = channels_first && s.size() == 3;
  if (s.size() == 2) {
    g.height = s[0];
    g.width = s[1];
  } else if (g.channels_first) {
    g.channels = s[0];
    g.height = s[1];
    g.width = s[2];
  } else {
    g.height = s[0];
    g.width = s[1];
    g.channels = s[2];
  }
  return g;
}

// Index of pixel (y, x), channel c, inside one sample.
inline int64_t at(const ImageGeometry& g, int64_t y, int64_t x, int64_t c) {
  return g.channels_first ? (c * g.height + y) * g.width + x : (y * g.width + x) * g.channels + c;
}

void shift_and_flip(float* image, float* scratch, const ImageGeometry& g, int64_t dy, int64_t dx, bool flip) {
  const int64_t size = g.height * g.width * g.channels;
  std::memcpy(scratch, image, sizeof(float) * static_cast<size_t>(size));
  for (int64_t y = 0; y < g.height; ++y)
    for (int64_t x = 0; x < g.width; ++x) {
      // The output's (y, x) shows the input's (y + dy, x' + dx), x' mirrored when flipping.
      const int64_t sy = y + dy, sx = (flip ? g.width - 1 - x : x) + dx;
      const bool inside = sy >= 0 && sy < g.height && sx >= 0 && sx < g.width;
      for (int64_t c = 0; c < g.channels; ++c) image[at(g, y, x, c)] = inside ? scratch[at(g, sy, sx, c)] : 0.0f;
    }
}

void erase(float* image, const ImageGeometry& g, const Augmentation& a, Rng& rng) {
  std::uniform_real_distribution<double> area(a.erasing_min_area, a.erasing_max_area);
  std::uniform_real_distribution<double> log_ratio(std::log(a.erasing_min_ratio), std::log(a.erasing_max_ratio));
  const double pixels = static_cast<double>(g.height * g.width);
  for (int attempt = 0; attempt < 10; ++attempt) {
    const double target = area(rng) * pixels, ratio = std::exp(log_ratio(rng));
    const auto h = static_cast<int64_t>(std::lround(std::sqrt(target * ratio)));
    const auto w = static_cast<int64_t>(std::lround(std::sqrt(target / ratio)));
    if (h < 1 || w < 1 || h >= g.height || w >= g.width) continue;
    const int64_t y0 = std::uniform_int_distribution<int64_t>(0, g.height - h)(rng);
    const int64_t x0 = std::uniform_int_distribution<int64_t>(0, g.width - w)(rng);
    for (int64_t y = y0; y < y0 + h; ++y)
      for (int64_t x = x0; x < x0 + w; ++x)
        for (int64_t c = 0; c < g.channels; ++c) image[at(g, y, x, c)] = 0.0f;
    return;
  }
}

}  // namespace

std::string augmentation_problem(const Augmentation& a, const Shape& s) {
  if (!a.enabled()) return "";
  if (s.size() != 2 && s.size() != 3)
    return "augmentation changes images, but the training samples have shape " + shape_string(s) +
           "; it needs (height, width), (height, width, channels) or, with data.channels: first, (channels, height, "
           "width); remove it for data that are not images";
  const ImageGeometry g = geometry_of(s, a.channels_first);
  if (a.crop_padding < 0)
    return "crop_padding = " + std::to_string(a.crop_padding) + " is negative; use 0 (off) or more";
  if (a.crop_padding >= std::max(g.height, g.width))
    return "crop_padding = " + std::to_string(a.crop_padding) + " is not smaller than the images (" +
           std::to_string(g.height) + "x" + std::to_string(g.width) + "): a crop could hold no pixel of the image";
  if (!(a.erasing >= 0.0 && a.erasing <= 1.0))
    return "erasing = " + std::to_string(a.erasing) + " is not a probability in [0, 1]";
  if (!(a.erasing_min_area > 0.0 && a.erasing_min_area <= a.erasing_max_area && a.erasing_max_area < 1.0))
    return "the erased area range [" + std::to_string(a.erasing_min_area) + ", " + std::to_string(a.erasing_max_area) +
           "] must satisfy 0 < min <= max < 1 (fractions of the image)";
  if (!(a.erasing_min_ratio > 0.0 && a.erasing_min_ratio <= a.erasing_max_ratio))
    return "the erased aspect ratio range [" + std::to_string(a.erasing_min_ratio) + ", " +
           std::to_string(a.erasing_max_ratio) + "] must satisfy 0 < min <= max";
  return "";
}

void augment_images(Tensor& batch, const Augmentation& a, Rng& rng) {
  if (!a.enabled() || batch.batch() == 0) return;
  const ImageGeometry g = geometry_of(batch.sample_shape(), a.channels_first);
  const int64_t size = g.height * g.width * g.channels;
  std::vector<float> scratch(static_cast<size_t>(size));
  std::uniform_int_distribution<int64_t> offset(-a.crop_padding, a.crop_padding);
  std::bernoulli_distribution coin(0.5), erase_draw(a.erasing);
  for (int64_t s = 0; s < batch.batch(); ++s) {
    float* image = batch.data() + s * size;
    const int64_t dy = a.crop_padding > 0 ? offset(rng) : 0, dx = a.crop_padding > 0 ? offset(rng) : 0;
    const bool flip = a.flip_horizontal && coin(rng);
    if (dy != 0 || dx != 0 || flip) shift_and_flip(image, scratch.data(), g, dy, dx, flip);
    if (a.erasing > 0.0 && erase_draw(rng)) erase(image, g, a, rng);
  }
}

}  // namespace nntune::train_detail
