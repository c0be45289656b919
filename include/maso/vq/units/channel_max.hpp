// maso/vq/units/channel_max.hpp — max over a group of R channels at one site (maxout).
//
// paper-spec §4.6: region r is channel c_r of the group. The math is exactly that
// of window_max; what differs is where the R entries come from (a channel group,
// not a spatial window), which the maxout layer reads from this type. Over all C
// outputs of a dense layer it is the "fully-connected pooling" whose soft-layer
// output is the softmax (Prop. 6).
#pragma once

#include <maso/vq/units/window_max.hpp>

namespace maso::vq {

template <std::size_t R>
struct channel_max : window_max<R> {
    static constexpr const char* name() noexcept { return "channel_max"; }
};

} // namespace maso::vq
