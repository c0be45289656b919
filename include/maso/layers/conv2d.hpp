// maso/layers/conv2d.hpp — conv2d<Cout, K, Stride, Pad>(): the 2-D convolution, an affine map.
//
//   z[o][n][y][x] = Σ_{c, ky, kx} W[o][(c·K + ky)·K + kx] · x[c][n][y·S + ky − P][x·S + kx − P] +
//   b[o]
//
// with zero padding P = ⌊K/2⌋ on each side for `same` (the Lasagne / PyTorch
// convention the paper's networks use, paper-spec §7; stride 2 halves an even
// map) and P = 0 for `valid`:
//   same:  Ho = (H + 2⌊K/2⌋ − K)/S + 1        valid:  Ho = (H − K)/S + 1.
// Each filter is one row of W[Cout][Cin·K·K] (paper-spec §5: the rows of the
// conv matrix are what the orthogonality constraints see). With cols = im2col(x)
// (kernels/im2col.hpp),
//   Z = W · cols + b,   dW += dZ · colsᵀ,   db += Σ dZ,   dx = col2im(Wᵀ · dZ),
// three GEMMs whose cols operand is gathered from x into the packed panels (or read
// in place) and whose dcols is added into dx tile by tile (kernels/implicit_conv.hpp):
// neither is ever stored. At stride 1 dx is computed instead as the convolution of
// dZ (padded by K − 1 − P) with the transposed, flipped filters, whose operand is
// read in place as the forward's is. As a contraction it heads a fused group: the planner runs
// forward_affine with its epilogue (bias, units, pooling on the register tiles),
// choosing the order of Z's columns so that pooling windows fall inside tiles.
//
// An orthogonality constraint on the flattened filters (paper-spec §5) is a type argument,
// conv2d<Cout, K, ortho::penalty<>>(), conv2d<Cout, K, ortho::gram_schmidt<>, Stride, Pad,
// Bias>(), …: the layer computes with the matrix ortho::constrained_weight gives (W, or
// V = GS(W)) and has its prepare / finish_backward hooks (ortho/constrained_weight.hpp).
#pragma once

#include <maso/core/profile.hpp>
#include <maso/core/tensor_slot.hpp>
#include <maso/core/weight_init.hpp>
#include <maso/expr/node.hpp>
#include <maso/kernels/gemm.hpp>
#include <maso/kernels/gemm_depth.hpp>
#include <maso/kernels/implicit_conv.hpp>
#include <maso/layers/bias.hpp>
#include <maso/ortho/check_shape.hpp>
#include <maso/ortho/constrained_weight.hpp>
#include <maso/ortho/tags.hpp>

#include <algorithm>
#include <numeric>
#include <string>
#include <type_traits>
#include <vector>

namespace maso {

enum class padding { same, valid };

template <std::size_t Cout, std::size_t K, std::size_t Stride = 1, padding Pad = padding::same,
          bool Bias = true, ortho::constraint Ortho = ortho::none>
struct conv2d_node {
    static constexpr node_kind kind = node_kind::contraction;
    using constraint_type = Ortho;

    /// The constraint's run-time part (a penalty's λ).
    [[no_unique_address]] Ortho orthogonality{};

    static constexpr std::size_t filters = Cout, kernel = K, stride = Stride;
    static constexpr padding pad_mode = Pad;
    static constexpr std::size_t pad = Pad == padding::same ? K / 2 : 0;
    /// The packers read x zero-padded by `pad`: the network's input, stored so, needs
    /// no padding pass (expr/node.hpp).
    static constexpr edge_layout input_edge =
        pad > 0 ? edge_layout::padded : edge_layout::channel_major;
    static constexpr std::size_t input_padding = pad;

    static std::string name(const conv2d_node&) {
        return "conv2d<" + std::to_string(Cout) + ", " + std::to_string(K) + ", stride " +
               std::to_string(Stride) + (Pad == padding::same ? ", same" : ", valid") +
               (Bias ? "" : ", no bias") +
               (std::is_same_v<Ortho, ortho::none>
                    ? std::string()
                    : std::string(", ") + ortho::traits<Ortho>::name()) +
               ">";
    }
    /// What the constraint does, for describe() (empty without one).
    template <class In>
    static std::string constraint_path(const conv2d_node& n) {
        return ortho::path_description(n.orthogonality, Cout, In::channels * K * K);
    }
    template <class In>
    static consteval diag check() {
        constexpr diag geometry = check_geometry<In>();
        if constexpr (geometry != diag::ok)
            return geometry;
        else
            return ortho::check_rows<Ortho, Cout, In::channels * K * K>(); // E024
    }
    template <class In>
    static consteval diag check_geometry() {
        if (Cout == 0 || K == 0) return diag::zero_extent;
        if (Stride == 0) return diag::stride_zero;
        if (Pad == padding::same && K % 2 == 0) return diag::same_needs_odd_kernel;
        if (Pad == padding::valid && (K > In::height || K > In::width))
            return diag::kernel_too_large;
        return diag::ok;
    }

    /// One output extent. `>>` names output_shape even when check failed, so a
    /// bad configuration must give some extent here rather than divide by zero.
    static constexpr std::size_t out_extent(std::size_t n) {
        if (Stride == 0 || n + 2 * pad < K) return 0;
        return (n + 2 * pad - K) / Stride + 1;
    }
    template <class In>
    using output_shape = shape<Cout, out_extent(In::height), out_extent(In::width)>;

    template <class In, class T, class Arch = xsimd::default_arch>
    struct layer {
        using arch = Arch;
        using output = output_shape<In>;
        using io = layer_io<In, output, T>;
        static constexpr std::size_t Cin = In::channels;
        static constexpr std::size_t D = Cin * K * K; ///< length of a flattened filter
        static constexpr std::size_t bias_offset = Cout * D;
        static constexpr bool has_bias = Bias;
        /// A 1×1, stride 1 convolution reads x itself as cols: x[Cin][batch·H·W].
        static constexpr bool cols_are_x = K == 1 && Stride == 1 && pad == 0;

        explicit layer(const conv2d_node& n) : constraint_(n.orthogonality, name(n)) {}
        std::size_t parameter_count() const { return Cout * D + (Bias ? Cout : 0); }

        /// The constraint's hooks (ortho/constrained_weight.hpp), which the model calls once
        /// per step: before forward (returns the term added to the loss) and after backward.
        double prepare(const io& io) requires(!std::is_same_v<Ortho, ortho::none>) {
            // A loss term counts in training, when forward computes a loss (io.loss).
            return constraint_.prepare(io.params.first(Cout * D),
                                       io.phase == mode::training && io.loss != nullptr);
        }
        void finish_backward(const io& io) requires(!std::is_same_v<Ortho, ortho::none>) {
            constraint_.finish_backward(io.params.first(Cout * D), io.grads.first(Cout * D));
        }
        auto& constraint() noexcept { return constraint_; }
        const auto& constraint() const noexcept { return constraint_; }
        std::size_t state_size(std::size_t) const { return 0; }
        /// The zero-padded copy of x the packers read (none without padding) and dW's
        /// partial sums after it (kernels/gemm_depth.hpp); at stride 1, backward's padded
        /// dz and flipped filters in the same place once dW is done.
        std::size_t scratch_size(std::size_t batch) const {
            const std::size_t x = padded_x_size(batch) + dw_partials;
            if constexpr (dx_by_convolution)
                return std::max(x, kernels::padded_size(transposed(batch)) + Cin * Cout * K * K);
            else
                return x;
        }

        void initialize(std::span<T> params, init_context& ctx) const {
            init_weights(params.first(Cout * D), Cout, D, D, Cout * K * K, ctx);
            for (auto& b : params.subspan(Cout * D))
                b = T(0);
        }

        /// W as {Cout, Cin, K, K} (PyTorch's layout: row o is filter o, (c·K + ky)·K + kx
        /// inside it), then b.
        std::vector<tensor_slot> tensors() const {
            std::vector<tensor_slot> t{{"weight", parameter_kind::weight, 0, {Cout, Cin, K, K}}};
            if constexpr (Bias) t.push_back({"bias", parameter_kind::bias, bias_offset, {Cout}});
            return t;
        }

        /// FLOP of one of its products (z = W·cols, dW or dX) for a batch: 2·Cout·Cin·K² per
        /// output pixel.
        static constexpr double product_flop(std::size_t batch) {
            return 2.0 * double(Cout) * double(D) * double(geometry(batch).columns());
        }
        /// Columns of z (per channel) in a given order (kernels/implicit_conv.hpp).
        static constexpr std::size_t columns(std::size_t batch, kernels::patch_order order) {
            return order.columns(geometry(batch));
        }

        /// z = W · cols, without the bias, its columns in `order` (z holds
        /// columns(batch, order) per channel). With an epilogue, the finished tiles go
        /// to it (kernels/gemm.hpp) and z receives only partial sums.
        template <class Epi = kernels::no_epilogue>
        void forward_affine(const io& io, kernels::patch_order order = {},
                            const Epi& epi = {}) const {
            const kernels::conv_geometry g = geometry(io.x.batch);
            const std::size_t n = order.columns(g);
            const kernels::strided<T> w{weight(io), D, 1};
            if (cols_are_x && order.is_natural())
                kernels::gemm<arch>(Cout, n, D, w, kernels::matrix_b<T>{{io.x.data, n, 1}},
                                    io.y.data, n, false, epi);
            else
                kernels::gemm<arch>(
                    Cout, n, D, w,
                    kernels::patch_rows<T, blocking::NC, Stride>{g, order, padded(io)}, io.y.data,
                    n, false, epi);
        }
        /// dW += dz · colsᵀ and dx = col2im(Wᵀ dz), dz's columns in `order`; the bias
        /// gradient is the bias op's. cols is gathered from x again, never kept. Under a
        /// reparametrisation W is V and dW is dV, overwritten (ortho/constrained_weight.hpp).
        void backward_affine(const io& io, kernels::patch_order order = {}) const {
            const kernels::conv_geometry g = geometry(io.x.batch);
            const std::size_t n = order.columns(g);
            const kernels::strided<T> dz{io.dy.data, n, 1};
            T* const dw = constraint_.weight_gradient(io.grads.data());
            constexpr bool add = constraint_t::accumulate_gradient;
            {
                MASO_RUN_PROFILE_PART("dW", product_flop(io.x.batch));
                // K = the batch's pixels is deep and Cout × Cin·K² narrow: the threads share
                // it along K too (kernels/gemm_depth.hpp).
                T* const partials = io.scratch.data() + padded_x_size(io.x.batch);
                if (cols_are_x && order.is_natural())
                    kernels::gemm_depth<arch>(Cout, D, n, dz,
                                              kernels::matrix_b<T>{{io.x.data, 1, n}}, dw, D, add,
                                              partials);
                else
                    kernels::gemm_depth<arch>(
                        Cout, D, n, dz,
                        kernels::patch_columns<T, blocking::KC>{g, order, padded(io)}, dw, D, add,
                        partials);
            }
            if (!io.dx.data) return;
            MASO_RUN_PROFILE_PART("dX", product_flop(io.x.batch));
            if constexpr (dx_by_convolution) {
                // dx = the convolution of dz padded by K − 1 − P with the transposed,
                // flipped filters (kernels/implicit_conv.hpp), read in place like the
                // forward: no dcols tile is scattered. Scratch held x's padded copy,
                // dead once dW is done.
                const kernels::conv_geometry t = transposed(io.x.batch);
                T* const dzp = io.scratch.data();
                T* const flipped = dzp + kernels::padded_size(t);
                kernels::flip_filters(weight(io), Cout, Cin, K, flipped);
                kernels::pad_columns<arch>(g, order, Cout, io.dy.data, dzp);
                const std::size_t pixels = io.x.batch * In::plane;
                kernels::gemm<arch>(Cin, pixels, Cout * K * K,
                                    kernels::strided<T>{flipped, Cout * K * K, 1},
                                    kernels::patch_rows<T, blocking::NC>{t, {}, dzp}, io.dx.data,
                                    pixels, false);
                return;
            }
            const kernels::strided<T> wt{weight(io), 1, D};
            const kernels::matrix_b<T> dzb{{io.dy.data, n, 1}};
            if (cols_are_x && order.is_natural()) {
                kernels::gemm<arch>(D, n, Cout, wt, dzb, io.dx.data, n, false);
            } else {
                // Overlapping windows add into dx: each thread owns whole input channels.
                // With padding they add into a padded dx in scratch (x's padded copy is
                // dead once dW is done), cropped after: no run needs clipping.
                T* dxp = pad == 0 ? io.dx.data : io.scratch.data();
                std::fill_n(dxp, pad == 0 ? io.dx.size() : kernels::padded_size(g), T(0));
                kernels::gemm<arch>(D, n, Cout, wt, dzb, static_cast<T*>(nullptr), 0, false,
                                    kernels::patch_scatter<T>(g, order, dxp),
                                    kernels::gemm_split::rows, std::lcm(blocking::MR, K * K));
                if constexpr (pad != 0) kernels::unpad_output(g, dxp, io.dx.data);
            }
        }
        bias_op<T> bias(const io& io, std::size_t c) const {
            return {io.params[bias_offset + c], io.grads.data() + bias_offset + c};
        }

        /// z = W · cols, then the bias in one pass per channel (layers/bias.hpp).
        void forward(const io& io) const {
            forward_affine(io);
            if constexpr (Bias) {
                const std::size_t n = pixels(io.y.batch);
                detail::add_bias<Arch>(io.params.data() + bias_offset, io.y.data, Cout, n, n);
            }
        }
        void backward(const io& io) const {
            if constexpr (Bias) {
                const std::size_t n = pixels(io.dy.batch);
                detail::add_bias_gradient<Arch>(io.dy.data, io.grads.data() + bias_offset, Cout, n, n);
            }
            backward_affine(io);
        }

    private:
        using blocking = kernels::gemm_blocking<arch, T>;
        using constraint_t = ortho::constrained_weight<Ortho, T, Cout, D, arch>;

        /// The Cout×D matrix the products use: W, or V = GS(W) of this step.
        const T* weight(const io& io) const { return constraint_.weight(io.params.data()); }

        /// Output pixels of the batch: the columns of cols and of z in natural order.
        static constexpr std::size_t pixels(std::size_t batch) { return batch * output::plane; }
        static constexpr kernels::conv_geometry geometry(std::size_t batch) {
            return {Cin, batch, In::height, In::width, K, Stride, pad};
        }
        static constexpr std::size_t padded_x_size(std::size_t batch) {
            return pad == 0 ? 0 : kernels::padded_size(geometry(batch));
        }
        /// dW's partial sums, which its product adds up along the batch (gemm_depth).
        static constexpr std::size_t dw_partials = kernels::depth_split<arch, T>::partials(Cout, D);
        /// Backward computes dx as a convolution at stride 1 (a 1×1 one reads dz as is).
        static constexpr bool dx_by_convolution = Stride == 1 && !cols_are_x;
        static constexpr kernels::conv_geometry transposed(std::size_t batch) {
            return kernels::transposed_geometry(geometry(batch), Cout);
        }
        /// x as the packers read it: x itself without padding; the program's padded copy
        /// (the network's input); else padded into scratch, again in backward rather than
        /// kept, as scratch is shared by the layers.
        static const T* padded(const io& io) {
            if constexpr (pad == 0) {
                return io.x.data;
            } else {
                if (io.x_edge) return io.x_edge;
                MASO_RUN_PROFILE_PART("pad input", 0);
                kernels::pad_input(geometry(io.x.batch), io.x.data, io.scratch.data());
                return io.scratch.data();
            }
        }

        constraint_t constraint_;
    };
};

/// A convolution of Cout filters of K×K (with a bias unless Bias is false).
template <std::size_t Cout, std::size_t K, std::size_t Stride = 1, padding Pad = padding::same,
          bool Bias = true>
constexpr conv2d_node<Cout, K, Stride, Pad, Bias> conv2d() {
    return {};
}

/// The same with an orthogonality constraint on the flattened filters (ortho/tags.hpp), given
/// as a value for its run-time part: conv2d<64, 3, ortho::penalty<>>({.lambda = 0.1}),
/// conv2d<64, 3, ortho::gram_schmidt<>, 2, padding::valid, false>().
template <std::size_t Cout, std::size_t K, ortho::constraint Ortho, std::size_t Stride = 1,
          padding Pad = padding::same, bool Bias = true>
constexpr conv2d_node<Cout, K, Stride, Pad, Bias, Ortho> conv2d(Ortho orthogonality = {}) {
    return {orthogonality};
}

} // namespace maso
