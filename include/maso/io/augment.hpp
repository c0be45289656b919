// maso/io/augment.hpp — training-time image augmentation: random crop with zero
// padding and random horizontal flip.
//
// For each image, independently: pad every side with `pad` zeros, cut an H×W window
// at a uniformly random offset (dy, dx ∈ [−pad, pad] from the centre), then mirror
// it left–right with probability ½. All channels of an image move together:
//     out[c][y][x] = in[c][y + dy][x' + dx]   (0 outside the image),
//     x' = W − 1 − x if flipped, else x.
// pad = 4 with flips is the usual CIFAR augmentation. The paper's own runs use
// none (paper-spec §7); it is here for the experiments that want it.
//
//   maso::io::augmenter aug(train.shape(), {.pad = 4, .flip = true}, /*seed*/ 7);
//   maso::io::gather(train, sampler.next(), x, y);
//   aug.apply(x);                          // in place, no allocation
//
// The draws come from std::mt19937_64 through detail/random.hpp, image after image
// (dy, then dx, then the flip), so a seed gives the same augmented batches on every
// platform, as long as the batches come in the same order.
#pragma once

#include <maso/core/error.hpp>
#include <maso/io/detail/random.hpp>
#include <maso/io/image_shape.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <string>
#include <vector>

namespace maso::io {

/// out ← `in` shifted by (dy, dx) with zeros where the window leaves the image,
/// then mirrored left–right if `flip`: the transform of one image described in the
/// header comment, with its parameters given. Sizes must both be s.size() (not
/// checked: augmenter::apply checks the batch); in and out must not overlap.
inline void crop_flip(std::span<const float> in, std::span<float> out, const image_shape& s,
                      std::ptrdiff_t dy, std::ptrdiff_t dx, bool flip) noexcept {
    const auto h = std::ptrdiff_t(s.height), w = std::ptrdiff_t(s.width);
    for (std::size_t c = 0; c < s.channels; ++c) {
        const float* src = in.data() + c * s.plane();
        float* dst = out.data() + c * s.plane();
        for (std::ptrdiff_t y = 0; y < h; ++y) {
            float* row = dst + y * w;
            const std::ptrdiff_t sy = y + dy;
            if (sy < 0 || sy >= h) {
                std::fill(row, row + w, 0.f);
                continue;
            }
            for (std::ptrdiff_t x = 0; x < w; ++x) {
                const std::ptrdiff_t sx = (flip ? w - 1 - x : x) + dx;
                row[x] = sx >= 0 && sx < w ? src[sy * w + sx] : 0.f;
            }
        }
    }
}

struct augment_options {
    std::size_t pad = 4; ///< the largest shift, in pixels; 0: no crop
    bool flip = true;    ///< mirror half of the images left–right
};

class augmenter {
public:
    /// An augmenter for images of shape s. Throws value_error for a shape with a
    /// zero extent or a pad not smaller than the image (the window would leave it).
    augmenter(const image_shape& s, augment_options o, std::uint64_t seed)
        : shape_(s), options_(o), random_(seed), scratch_(s.size()) {
        if (s.size() == 0) throw value_error("maso: augmenter: the image shape has a zero extent");
        if (o.pad >= s.height || o.pad >= s.width)
            throw value_error("maso: augmenter: pad = " + std::to_string(o.pad) +
                              " must be smaller than the " + std::to_string(s.height) + "x" +
                              std::to_string(s.width) + " image");
    }

    /// Augments every image of `images` ([k][C][H][W]) in place. Throws size_error
    /// if images.size() is not a multiple of the image size. Allocates nothing.
    void apply(std::span<float> images) {
        const std::size_t size = shape_.size();
        if (images.size() % size != 0)
            throw size_error("maso: augmenter: " + std::to_string(images.size()) +
                             " values are not a whole number of " + to_string(shape_) + " images");
        for (std::size_t start = 0; start < images.size(); start += size) {
            const draw d = next_draw();
            if (d.dy == 0 && d.dx == 0 && !d.flip) continue;
            const auto image = images.subspan(start, size);
            std::copy(image.begin(), image.end(), scratch_.begin());
            crop_flip(scratch_, image, shape_, d.dy, d.dx, d.flip);
        }
    }

    /// Draws what apply() would draw for `images` images and transforms nothing: after
    /// skip(n), apply() continues as if n images had been augmented. A resumed run uses it
    /// to reach the augmentation of the step it resumes at (train/trainer.hpp).
    void skip(std::size_t images) noexcept {
        for (std::size_t i = 0; i < images; ++i)
            next_draw();
    }

    const image_shape& shape() const noexcept { return shape_; }
    const augment_options& options() const noexcept { return options_; }

private:
    struct draw {
        std::ptrdiff_t dy = 0, dx = 0;
        bool flip = false;
    };

    /// One image's shift and flip: dy, then dx, then the flip, from the engine.
    draw next_draw() noexcept {
        draw d;
        if (options_.pad > 0) {
            const auto pad = std::ptrdiff_t(options_.pad);
            d.dy = std::ptrdiff_t(detail::uniform_below(random_, 2 * options_.pad + 1)) - pad;
            d.dx = std::ptrdiff_t(detail::uniform_below(random_, 2 * options_.pad + 1)) - pad;
        }
        d.flip = options_.flip && detail::uniform_below(random_, 2) == 1;
        return d;
    }

    image_shape shape_;
    augment_options options_;
    std::mt19937_64 random_;
    std::vector<float> scratch_; ///< one image: crop_flip cannot work in place
};

} // namespace maso::io
