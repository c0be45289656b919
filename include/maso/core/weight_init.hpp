// maso/core/weight_init.hpp — drawing a weight matrix at instantiation.
//
// W is rows × cols, row-major, one row per output unit (a conv filter flattened
// to Cin·K·K). fan_in / fan_out follow the usual convention (for a conv,
// K·K·Cin and K·K·Cout):
//   glorot_uniform  U(±√(6/(fan_in+fan_out)))      — the authors' default (paper-spec §7)
//   he_normal       N(0, 2/fan_in)
//   orthogonal      rows (or columns, if rows > cols) orthonormal, from a Gaussian
//                   matrix by modified Gram–Schmidt (needs count ≤ len, which holds by
//                   construction)
#pragma once

#include <algorithm>
#include <cmath>
#include <random>
#include <span>
#include <vector>

namespace maso {

/// How weights are drawn at instantiation (init_options, instantiate: train/model.hpp).
enum class initializer { glorot_uniform, he_normal, orthogonal };

struct init_context {
    std::mt19937_64& rng;
    initializer weights = initializer::glorot_uniform;
};

template <class T>
void init_weights(std::span<T> w, std::size_t rows, std::size_t cols, std::size_t fan_in,
                  std::size_t fan_out, init_context& ctx) {
    switch (ctx.weights) {
    case initializer::glorot_uniform: {
        const double a = std::sqrt(6.0 / double(fan_in + fan_out));
        std::uniform_real_distribution<double> d(-a, a);
        for (auto& v : w)
            v = T(d(ctx.rng));
        return;
    }
    case initializer::he_normal: {
        std::normal_distribution<double> d(0.0, std::sqrt(2.0 / double(fan_in)));
        for (auto& v : w)
            v = T(d(ctx.rng));
        return;
    }
    case initializer::orthogonal: {
        // Orthonormalise the longer side's vectors: rows when rows ≤ cols.
        const bool by_rows = rows <= cols;
        const std::size_t count = by_rows ? rows : cols, len = by_rows ? cols : rows;
        std::vector<double> q(count * len);
        std::normal_distribution<double> d(0.0, 1.0);
        for (auto& v : q)
            v = d(ctx.rng);
        for (std::size_t i = 0; i < count; ++i) {
            double* qi = &q[i * len];
            for (std::size_t j = 0; j < i; ++j) { // modified Gram–Schmidt
                const double* qj = &q[j * len];
                double dot = 0;
                for (std::size_t t = 0; t < len; ++t)
                    dot += qi[t] * qj[t];
                for (std::size_t t = 0; t < len; ++t)
                    qi[t] -= dot * qj[t];
            }
            double norm = 0;
            for (std::size_t t = 0; t < len; ++t)
                norm += qi[t] * qi[t];
            norm = std::sqrt(norm);
            for (std::size_t t = 0; t < len; ++t)
                qi[t] /= norm;
        }
        for (std::size_t r = 0; r < rows; ++r)
            for (std::size_t c = 0; c < cols; ++c)
                w[r * cols + c] = T(by_rows ? q[r * len + c] : q[c * len + r]);
        return;
    }
    }
}

} // namespace maso
