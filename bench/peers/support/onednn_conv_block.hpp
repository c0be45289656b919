// bench/peers/support/onednn_conv_block.hpp — the conv block in oneDNN, its best form each way.
//
// PERFORMANCE.md's block: N × C × H × W → conv 3×3 same with bias (C → C) → swish z·σ(ηz) →
// 2×2 max pooling. oneDNN picks every layout itself (format_tag::any: blocked, nChw16c on
// AVX-512), the input and weights are reordered into them once, before timing, as a framework
// keeping its tensors in oneDNN's layouts does, so no reorder is timed:
//
//   forward           the convolution with swish as an eltwise post-op (one pass, z never
//                     stored), then the pooling primitive: oneDNN's fused inference path.
//   forward+backward  what training needs: z is kept, so the convolution runs without the
//                     post-op (forward_training), then swish and pooling as primitives
//                     (pooling keeps its argmax workspace); backward: pooling, swish
//                     (from z), the convolution's weights and bias, and its data gradient.
//                     oneDNN's swish has a fixed η: no dη, which maso's learnable β computes.
//
// With `nchw_edges`, each step also reorders its input (and, for training, dy) from NCHW:
// what a caller holding NCHW tensors pays, and what maso's models pay in every timed step
// (model::forward and backward(dy) take NCHW; neither converts its result back).
//
// threads: oneDNN in Debian runs on OpenMP; omp_set_num_threads sets its count.
#pragma once

#include <dnnl.hpp>

#include <cstdint>
#include <cstring>
#include <vector>

namespace maso_peers {

class onednn_conv_block {
public:
    using tag = dnnl::memory::format_tag;
    using dt = dnnl::memory::data_type;

    /// weights [C][C][3][3], bias [C], input [N][C][H][W] (NCHW), copied in once.
    onednn_conv_block(std::int64_t n, std::int64_t c, std::int64_t h, std::int64_t w, float eta,
                      const float* weights, const float* bias, const float* input)
        : n_(n), c_(c), height_(h), width_(w) {
        using namespace dnnl;
        const memory::dims x_dims{n, c, h, w}, w_dims{c, c, 3, 3}, b_dims{c},
            y_dims{n, c, h / 2, w / 2}, one{1, 1}, two{2, 2}, zero{0, 0};
        const memory::desc x_any(x_dims, dt::f32, tag::any), w_any(w_dims, dt::f32, tag::any),
            b_md(b_dims, dt::f32, tag::x), z_any(x_dims, dt::f32, tag::any),
            y_any(y_dims, dt::f32, tag::any);

        // forward: conv + swish post-op, pooling (inference)
        post_ops ops;
        ops.append_eltwise(1.f, algorithm::eltwise_swish, eta, 0.f);
        primitive_attr attr;
        attr.set_post_ops(ops);
        conv_inf_pd_ = convolution_forward::primitive_desc(
            convolution_forward::desc(prop_kind::forward_inference, algorithm::convolution_direct,
                                      x_any, w_any, b_md, z_any, one, one, one),
            attr, engine_);
        pool_inf_pd_ = pooling_forward::primitive_desc(
            pooling_forward::desc(prop_kind::forward_inference, algorithm::pooling_max,
                                  conv_inf_pd_.dst_desc(), y_any, two, two, zero, zero),
            engine_);

        // training: conv, swish, pooling (with workspace) forward; their backward
        conv_pd_ = convolution_forward::primitive_desc(
            convolution_forward::desc(prop_kind::forward_training, algorithm::convolution_direct,
                                      x_any, w_any, b_md, z_any, one, one, one),
            engine_);
        const memory::desc z_md = conv_pd_.dst_desc();
        swish_pd_ = eltwise_forward::primitive_desc(
            eltwise_forward::desc(prop_kind::forward_training, algorithm::eltwise_swish, z_md, eta,
                                  0.f),
            engine_);
        pool_pd_ = pooling_forward::primitive_desc(
            pooling_forward::desc(prop_kind::forward_training, algorithm::pooling_max, z_md, y_any,
                                  two, two, zero, zero),
            engine_);
        pool_bwd_pd_ = pooling_backward::primitive_desc(
            pooling_backward::desc(algorithm::pooling_max, z_md, pool_pd_.dst_desc(), two, two,
                                   zero, zero),
            engine_, pool_pd_);
        swish_bwd_pd_ = eltwise_backward::primitive_desc(
            eltwise_backward::desc(algorithm::eltwise_swish, z_md, z_md, eta, 0.f), engine_,
            swish_pd_);
        conv_bwd_w_pd_ = convolution_backward_weights::primitive_desc(
            convolution_backward_weights::desc(algorithm::convolution_direct, x_any, w_any, b_md,
                                               z_any, one, one, one),
            engine_, conv_pd_);
        conv_bwd_x_pd_ = convolution_backward_data::primitive_desc(
            convolution_backward_data::desc(algorithm::convolution_direct, x_any, w_any, z_any, one,
                                            one, one),
            engine_, conv_pd_);

        // memories in the chosen layouts; the user's NCHW data reordered in once
        user_x_ = memory({x_dims, dt::f32, tag::nchw}, engine_);
        std::memcpy(user_x_.get_data_handle(), input, user_x_.get_desc().get_size());
        user_dy_ = memory({y_dims, dt::f32, tag::nchw}, engine_);
        fill(user_dy_, 1e-3f);
        const memory& user_x = user_x_;
        const memory user_w({w_dims, dt::f32, tag::oihw}, engine_, const_cast<float*>(weights));
        x_inf_ = copy_in(user_x, conv_inf_pd_.src_desc());
        w_inf_ = copy_in(user_w, conv_inf_pd_.weights_desc());
        x_ = copy_in(user_x, conv_pd_.src_desc());
        w_ = copy_in(user_w, conv_pd_.weights_desc());
        b_ = memory(b_md, engine_);
        std::memcpy(b_.get_data_handle(), bias, std::size_t(c) * sizeof(float));
        z_inf_ = memory(conv_inf_pd_.dst_desc(), engine_);
        y_inf_ = memory(pool_inf_pd_.dst_desc(), engine_);
        z_ = memory(z_md, engine_);
        a_ = memory(z_md, engine_);
        y_ = memory(pool_pd_.dst_desc(), engine_);
        workspace_ = memory(pool_pd_.workspace_desc(), engine_);
        dy_ = memory(pool_pd_.dst_desc(), engine_);
        fill(dy_, 1e-3f);
        da_ = memory(z_md, engine_);
        dz_ = memory(z_md, engine_);
        dw_ = memory(conv_bwd_w_pd_.diff_weights_desc(), engine_);
        db_ = memory(conv_bwd_w_pd_.diff_bias_desc(), engine_);
        dx_ = memory(conv_bwd_x_pd_.diff_src_desc(), engine_);
        // The backward products may want other layouts than the forward chose; a reorder
        // per step then, timed, as a framework would pay it.
        x_for_w_ = layout(x_, conv_bwd_w_pd_.src_desc());
        dz_for_w_ = layout(dz_, conv_bwd_w_pd_.diff_dst_desc());
        dz_for_x_ = layout(dz_, conv_bwd_x_pd_.diff_dst_desc());
        w_for_x_ = layout(w_, conv_bwd_x_pd_.weights_desc());
        reorder_in_step_ = x_for_w_.get() != x_.get() || dz_for_w_.get() != dz_.get() ||
                           dz_for_x_.get() != dz_.get() || w_for_x_.get() != w_.get();

        // The primitives, created once (oneDNN compiles its kernels here)
        conv_inf_ = convolution_forward(conv_inf_pd_);
        pool_inf_ = pooling_forward(pool_inf_pd_);
        conv_ = convolution_forward(conv_pd_);
        swish_ = eltwise_forward(swish_pd_);
        pool_ = pooling_forward(pool_pd_);
        pool_bwd_ = pooling_backward(pool_bwd_pd_);
        swish_bwd_ = eltwise_backward(swish_bwd_pd_);
        conv_bwd_w_ = convolution_backward_weights(conv_bwd_w_pd_);
        conv_bwd_x_ = convolution_backward_data(conv_bwd_x_pd_);
    }

    /// Whether the backward products needed a layout of their own (a reorder per step).
    bool reorders_in_step() const noexcept { return reorder_in_step_; }

    /// Inference: conv + swish post-op, then max pooling.
    void forward(bool nchw_edges = false) {
        using namespace dnnl;
        if (nchw_edges) reorder_to(user_x_, x_inf_);
        conv_inf_.execute(stream_, {{DNNL_ARG_SRC, x_inf_},
                                    {DNNL_ARG_WEIGHTS, w_inf_},
                                    {DNNL_ARG_BIAS, b_},
                                    {DNNL_ARG_DST, z_inf_}});
        pool_inf_.execute(stream_, {{DNNL_ARG_SRC, z_inf_}, {DNNL_ARG_DST, y_inf_}});
        stream_.wait();
    }

    /// The convolution alone, without the post-op or the pooling: where the block's time goes.
    void convolution_only() {
        conv_.execute(
            stream_,
            {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, w_}, {DNNL_ARG_BIAS, b_}, {DNNL_ARG_DST, z_}});
        stream_.wait();
    }

    /// One training pass: forward keeping z, then every gradient (dW, db, dx) from dy.
    void forward_backward(bool nchw_edges = false) {
        using namespace dnnl;
        if (nchw_edges) reorder_to(user_x_, x_);
        conv_.execute(
            stream_,
            {{DNNL_ARG_SRC, x_}, {DNNL_ARG_WEIGHTS, w_}, {DNNL_ARG_BIAS, b_}, {DNNL_ARG_DST, z_}});
        swish_.execute(stream_, {{DNNL_ARG_SRC, z_}, {DNNL_ARG_DST, a_}});
        pool_.execute(stream_,
                      {{DNNL_ARG_SRC, a_}, {DNNL_ARG_DST, y_}, {DNNL_ARG_WORKSPACE, workspace_}});
        if (nchw_edges) reorder_to(user_dy_, dy_);
        pool_bwd_.execute(
            stream_,
            {{DNNL_ARG_DIFF_DST, dy_}, {DNNL_ARG_DIFF_SRC, da_}, {DNNL_ARG_WORKSPACE, workspace_}});
        swish_bwd_.execute(
            stream_, {{DNNL_ARG_SRC, z_}, {DNNL_ARG_DIFF_DST, da_}, {DNNL_ARG_DIFF_SRC, dz_}});
        convert(x_, x_for_w_);
        convert(dz_, dz_for_w_);
        convert(dz_, dz_for_x_);
        convert(w_, w_for_x_);
        conv_bwd_w_.execute(stream_, {{DNNL_ARG_SRC, x_for_w_},
                                      {DNNL_ARG_DIFF_DST, dz_for_w_},
                                      {DNNL_ARG_DIFF_WEIGHTS, dw_},
                                      {DNNL_ARG_DIFF_BIAS, db_}});
        conv_bwd_x_.execute(stream_, {{DNNL_ARG_DIFF_DST, dz_for_x_},
                                      {DNNL_ARG_WEIGHTS, w_for_x_},
                                      {DNNL_ARG_DIFF_SRC, dx_}});
        stream_.wait();
    }

    /// The inference output as NCHW, [N][C][H/2][W/2], for the check before timing.
    std::vector<float> output() {
        std::vector<float> out(std::size_t(n_ * c_ * (height_ / 2) * (width_ / 2)));
        dnnl::memory user({{n_, c_, height_ / 2, width_ / 2}, dt::f32, tag::nchw}, engine_,
                          out.data());
        dnnl::reorder(y_inf_, user).execute(stream_, y_inf_, user);
        stream_.wait();
        return out;
    }

    /// "avx512_core_bf16" and so on: the ISA oneDNN dispatched to.
    static const char* isa_name() {
        switch (dnnl::get_effective_cpu_isa()) {
        case dnnl::cpu_isa::avx512_core_amx:
            return "avx512_core_amx";
        case dnnl::cpu_isa::avx512_core_bf16:
            return "avx512_core_bf16";
        case dnnl::cpu_isa::avx512_core_vnni:
            return "avx512_core_vnni";
        case dnnl::cpu_isa::avx512_core:
            return "avx512_core";
        case dnnl::cpu_isa::avx2_vnni:
            return "avx2_vnni";
        case dnnl::cpu_isa::avx2:
            return "avx2";
        default:
            return "other";
        }
    }

private:
    dnnl::memory copy_in(const dnnl::memory& user, const dnnl::memory::desc& want) {
        dnnl::memory m(want, engine_);
        dnnl::reorder(user, m).execute(stream_, const_cast<dnnl::memory&>(user), m);
        stream_.wait();
        return m;
    }
    /// `m` itself if it has the layout `want`, else a buffer of that layout.
    dnnl::memory layout(const dnnl::memory& m, const dnnl::memory::desc& want) {
        if (m.get_desc() == want) return m;
        return dnnl::memory(want, engine_);
    }
    void reorder_to(dnnl::memory& from, dnnl::memory& to) {
        dnnl::reorder(from, to).execute(stream_, from, to);
    }
    void convert(dnnl::memory& from, dnnl::memory& to) {
        if (from.get() != to.get()) dnnl::reorder(from, to).execute(stream_, from, to);
    }
    static void fill(dnnl::memory& m, float v) {
        float* p = static_cast<float*>(m.get_data_handle());
        for (std::size_t i = 0; i < m.get_desc().get_size() / sizeof(float); ++i)
            p[i] = v;
    }

    std::int64_t n_, c_, height_, width_;
    dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
    dnnl::stream stream_{engine_};
    dnnl::convolution_forward::primitive_desc conv_inf_pd_, conv_pd_;
    dnnl::pooling_forward::primitive_desc pool_inf_pd_, pool_pd_;
    dnnl::eltwise_forward::primitive_desc swish_pd_;
    dnnl::pooling_backward::primitive_desc pool_bwd_pd_;
    dnnl::eltwise_backward::primitive_desc swish_bwd_pd_;
    dnnl::convolution_backward_weights::primitive_desc conv_bwd_w_pd_;
    dnnl::convolution_backward_data::primitive_desc conv_bwd_x_pd_;
    dnnl::primitive conv_inf_, pool_inf_, conv_, swish_, pool_, pool_bwd_, swish_bwd_, conv_bwd_w_,
        conv_bwd_x_;
    dnnl::memory user_x_, user_dy_; ///< NCHW, the caller's layout
    dnnl::memory x_inf_, w_inf_, b_, z_inf_, y_inf_, x_, w_, z_, a_, y_, workspace_, dy_, da_, dz_,
        dw_, db_, dx_, x_for_w_, dz_for_w_, dz_for_x_, w_for_x_;
    bool reorder_in_step_ = false;
};

} // namespace maso_peers
