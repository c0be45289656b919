// Tests of include/maso/layers/detail/unfused_passes.hpp: forward and backward derived from a
// layer's planes or from its per-channel op, the channels on the pool's threads and the
// parameter gradients committed in channel order whatever the thread count.
#include <maso/core/shape.hpp>
#include <maso/layers/detail/unfused_passes.hpp>
#include <maso/simd/ops.hpp>

#include <maso_test/thread_count_guard.hpp>

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstddef>
#include <vector>

using namespace maso;

namespace {

using S = shape<3, 2, 2>;
constexpr std::size_t B = 2;

/// x[i] = i, dy[i] = 10 i, dx prefilled with −1, one gradient slot per channel, and the
/// staging scratch of 3 channels.
template <class Out>
struct buffers {
    std::vector<double> x, y, dy, dx, grads, scratch;
    buffers()
        : x(S::size * B), y(Out::size * B), dy(Out::size * B), dx(S::size * B, -1), grads(3),
          scratch(3) {
        for (std::size_t i = 0; i < x.size(); ++i)
            x[i] = double(i);
        for (std::size_t i = 0; i < dy.size(); ++i)
            dy[i] = 10.0 * double(i);
    }
    layer_io<S, Out, double> io(bool with_dx) {
        layer_io<S, Out, double> r;
        r.x = {x.data(), B};
        r.y = {y.data(), B};
        r.dy = {dy.data(), B};
        r.dx = {with_dx ? dx.data() : nullptr, B};
        r.grads = grads;
        r.scratch = scratch;
        return r;
    }
};

// ---- by planes: out = c + the plane's sum; din = dout + c; ∂L/∂η = 1 per plane ------------

using O = shape<3, 1, 1>;
using plane_io = layer_io<S, O, double>;

struct summing : detail::unfused_passes<summing> {
    using arch = xsimd::default_arch;
    using io = plane_io;
    std::size_t parameters = 0;
    mutable std::vector<const double*> seen_din; ///< per call; the calls run on one thread here
    mutable std::vector<std::size_t> seen_planes;

    std::size_t parameter_count() const { return parameters; }
    void forward_planes(const plane_io&, std::size_t c, const double* in, double* out,
                        std::size_t planes) const {
        for (std::size_t n = 0; n < planes; ++n, in += S::plane)
            out[n] = double(c) + in[0] + in[1] + in[2] + in[3];
    }
    double backward_planes(const plane_io&, std::size_t c, const double*, const double* dout,
                           double* din, std::size_t planes) const {
        seen_din.push_back(din);
        seen_planes.push_back(planes);
        if (din)
            for (std::size_t i = 0; i < planes * S::plane; ++i)
                din[i] = dout[i / S::plane] + double(c);
        return double(planes);
    }
    void commit_planes(const plane_io& io, std::size_t c, double deta) const {
        io.grads[c] += deta;
    }
};
static_assert(detail::plane_layer<summing, S, O, double>);

// ---- by an op: y = k_c x, dx = k_c dy, ∂L/∂k_c = Σ x dy --------------------------------------

struct scale_op {
    static constexpr std::size_t accumulators = 1;
    double k;
    double* grad;
    template <class V>
    V forward(V x) const {
        return x * simd::ops<V>::broadcast(k);
    }
    template <class V>
    V backward(V x, V dy, V* acc) const {
        acc[0] += x * dy;
        return dy * simd::ops<V>::broadcast(k);
    }
    void commit(const double* sums) const { *grad += sums[0]; }
};

using op_io = layer_io<S, S, double>;

struct scaling : detail::unfused_passes<scaling> {
    using arch = xsimd::default_arch;
    using io = op_io;
    std::size_t parameters = 3;
    std::size_t parameter_count() const { return parameters; }
    scale_op op(const op_io& io, std::size_t c) const {
        return {double(c + 1), io.grads.data() + c};
    }
};
static_assert(!detail::plane_layer<scaling, S, S, double>);

} // namespace

BOOST_AUTO_TEST_CASE(planes_forward_every_plane_of_every_channel_and_image) {
    buffers<O> b;
    summing{}.forward(b.io(true));
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t n = 0; n < B; ++n) {
            const std::size_t p = c * B + n; // channel-major [C][N][H][W]
            BOOST_CHECK_EQUAL(b.y[p], double(c) + double(16 * p + 6));
        }
}

BOOST_AUTO_TEST_CASE(planes_backward_skips_what_nobody_wants) {
    maso_test::thread_count_guard guard;
    set_num_threads(1); // seen_din is filled by the calls
    buffers<O> b;
    summing layer;
    layer.backward(b.io(true));
    for (std::size_t c = 0; c < 3; ++c)
        for (std::size_t n = 0; n < B; ++n)
            for (std::size_t i = 0; i < S::plane; ++i)
                BOOST_CHECK_EQUAL(b.dx[(c * B + n) * S::plane + i],
                                  10.0 * double(c * B + n) + double(c));
    // one call per channel, over its B planes
    BOOST_CHECK_EQUAL(layer.seen_din.size(), 3u);
    for (const std::size_t planes : layer.seen_planes)
        BOOST_CHECK_EQUAL(planes, B);
    // No parameters: nothing is committed.
    BOOST_CHECK(b.grads == (std::vector<double>{0.0, 0.0, 0.0}));
    // No dx and no parameters: nothing to compute, no plane is visited.
    layer.seen_din.clear();
    layer.backward(b.io(false));
    BOOST_CHECK(layer.seen_din.empty());
    // No dx but parameters: every channel is visited with din null, for the gradients.
    layer.parameters = 3;
    layer.backward(b.io(false));
    BOOST_CHECK_EQUAL(layer.seen_din.size(), 3u);
    for (const double* d : layer.seen_din)
        BOOST_CHECK(d == nullptr);
    BOOST_CHECK(b.grads == (std::vector<double>{2.0, 2.0, 2.0})); // B planes each
    // With parameters, the staged sums need the layer's scratch.
    auto io = b.io(false);
    io.scratch = {};
    BOOST_CHECK_THROW(layer.backward(io), error);
}

BOOST_AUTO_TEST_CASE(op_runs_over_each_channel_and_reduces_its_gradients) {
    buffers<S> b;
    const scaling layer;
    layer.forward(b.io(true));
    const std::size_t run = B * S::plane; // a channel's values, contiguous
    for (std::size_t i = 0; i < b.x.size(); ++i)
        BOOST_CHECK_EQUAL(b.y[i], double(i / run + 1) * b.x[i]);
    layer.backward(b.io(true));
    std::vector<double> expected_grads(3, 0.0);
    for (std::size_t i = 0; i < b.x.size(); ++i) {
        BOOST_CHECK_EQUAL(b.dx[i], double(i / run + 1) * b.dy[i]);
        expected_grads[i / run] += b.x[i] * b.dy[i];
    }
    BOOST_CHECK(b.grads == expected_grads); // integers: exact in any summation order
    // dx null: the gradients again, dx untouched
    b.dx.assign(b.dx.size(), -1);
    layer.backward(b.io(false));
    for (std::size_t c = 0; c < 3; ++c)
        BOOST_CHECK_EQUAL(b.grads[c], 2 * expected_grads[c]);
    for (const double d : b.dx)
        BOOST_CHECK_EQUAL(d, -1.0);
    // dx null and no parameters: nothing at all
    scaling fixed;
    fixed.parameters = 0;
    fixed.backward(b.io(false));
    for (std::size_t c = 0; c < 3; ++c)
        BOOST_CHECK_EQUAL(b.grads[c], 2 * expected_grads[c]);
}

namespace {

/// Every channel's op adds Σ dy to one gradient shared by the layer (a learnable β per layer).
struct shared_op {
    static constexpr std::size_t accumulators = 1;
    double* grad;
    template <class V>
    V forward(V x) const {
        return x;
    }
    template <class V>
    V backward(V, V dy, V* acc) const {
        acc[0] += dy;
        return dy;
    }
    void commit(const double* sums) const { *grad += sums[0]; }
};

struct sharing : detail::unfused_passes<sharing> {
    using arch = xsimd::default_arch;
    using io = op_io;
    std::size_t parameter_count() const { return 1; }
    std::size_t scratch_size(std::size_t) const { return staging_size(); }
    shared_op op(const op_io& io, std::size_t) const { return {io.grads.data()}; }
};

} // namespace

BOOST_AUTO_TEST_CASE(a_shared_gradient_is_committed_in_channel_order_at_any_thread_count) {
    // Channel sums 1e16, 1 and −1e16: in channel order (1e16 + 1) − 1e16 = 0 in double (1 is
    // below 1e16's ulp of 2), in any other order 1 or −1 + … So the result shows the order.
    BOOST_CHECK_EQUAL(sharing{}.staging_size(), 3u);
    maso_test::thread_count_guard guard;
    for (const std::size_t threads : {1, 2, 3}) {
        set_num_threads(threads);
        buffers<S> b;
        b.grads.assign(1, 0.0);
        std::fill(b.dy.begin(), b.dy.end(), 0.0);
        const std::size_t run = B * S::plane;
        b.dy[0] = 1e16;
        b.dy[run + 3] = 1;
        b.dy[2 * run + 5] = -1e16;
        sharing{}.backward(b.io(true));
        BOOST_TEST_CONTEXT(threads << " threads") BOOST_CHECK_EQUAL(b.grads[0], 0.0);
        BOOST_CHECK(b.dx == b.dy);
    }
}
