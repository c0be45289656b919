// maso/layers/detail/channel_moments.hpp — a channel's mean and sum of squared deviations,
// in double, W values at a time.
//
// Internal to layers/batch_norm.hpp; users include that. channel_moments(x, m) returns
// μ = Σx / m and ss = Σ(x − μ)² of m values in two passes summed in double: batch norm's M =
// batch·H·W reaches 10⁵ values, where a float running sum would lose the low digits of the
// mean, and the centred second pass avoids the Σx² − Mμ² cancellation. Each pass keeps four
// batches of partial sums (four independent chains of adds: one would wait on the add's
// latency at every value), added in a fixed order at the end, and the last m mod 4W values
// one by one; the result depends on m and the values alone, never on which thread runs it.
#pragma once

#include <maso/simd/batch_ops.hpp>

#include <array>
#include <cstddef>
#include <utility>

namespace maso::detail {

template <class T, class Arch = xsimd::default_arch>
std::pair<double, double> channel_moments(const T* x, std::size_t m) noexcept {
    using batch = xsimd::batch<double, Arch>;
    constexpr std::size_t W = batch::size, chains = 4;
    const std::size_t full = m - m % (chains * W);
    const auto pass = [&](auto term) {
        std::array<batch, chains> acc;
        acc.fill(batch(0.0));
        for (std::size_t i = 0; i < full; i += chains * W)
            for (std::size_t k = 0; k < chains; ++k)
                acc[k] += term(batch::load_unaligned(x + i + k * W)); // float → double
        double tail = 0;
        for (std::size_t i = full; i < m; ++i)
            tail += term(double(x[i]));
        return xsimd::hadd((acc[0] + acc[1]) + (acc[2] + acc[3])) + tail;
    };
    const double mu = pass([](auto v) { return v; }) / double(m);
    const double ss = pass([mu](auto v) {
        const auto d = v - mu;
        return d * d;
    });
    return {mu, ss};
}

} // namespace maso::detail
