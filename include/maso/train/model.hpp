// maso/train/model.hpp — an instantiated network: parameters, gradients, forward, backward.
//
// A model owns a lowered program (run/program.hpp): every buffer is allocated
// when it is built, and forward/backward allocate nothing. Images come in and
// go out as [N][C][H][W]; inside, activations are channel-major (core/tensor.hpp).
//
//   auto m = instantiate(net, 64);                 // fuse::all, Glorot-uniform, seed 0
//   auto d = instantiate<double>(net, 64);         // the same network in double
//   float loss = m.forward(images, labels);        // the network ends in a loss
//   m.zero_gradients(); m.backward();              // gradients ADD up until zeroed
//   for (auto& p : m.state_dict()) …               // "3.conv2d.weight", its kind, shape, spans
//   std::span<float> theta = m.parameters<3>();    // node 3's parameters (a learnable β's θ)
//
// What forward() refuses, before anything runs (nothing changes): a batch of the wrong
// size, a label outside the classes, an image value that is NaN or infinite
// (maso::value_error), a θ of a learnable β that is NaN (maso::numeric_error). What it
// refuses after running: a batch norm whose batch statistics are not finite (its running
// statistics stay as they were), and a loss — or, without a loss node, an output — that
// is not finite: maso::numeric_error naming the first node whose output holds a NaN or an
// infinity. backward() then refuses to run until a forward() succeeds.
//
// A layer's once-per-step hooks (train/layer_hooks.hpp: the orthogonality constraints of dense
// and conv2d) run before the program's forward — their loss terms, a penalty's λ·P(W), are
// added to the loss — and after its backward.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/profile.hpp>
#include <maso/core/tensor_slot.hpp>
#include <maso/plan/describe.hpp>
#include <maso/run/program.hpp>
#include <maso/simd/batch_loop.hpp>
#include <maso/train/layer_hooks.hpp>
#include <maso/train/parameter.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <utility>
#include <vector>

namespace maso {

struct init_options {
    initializer weights = initializer::glorot_uniform;
    std::uint64_t seed = 0;
};

namespace detail {
/// The index of the first value of x that is NaN or infinite, or x.size(). One vector pass
/// decides whether there is any (x·0 is 0 for every finite x, NaN otherwise); the scalar
/// search runs only when there is.
template <class Arch, class T>
std::size_t first_non_finite(std::span<const T> x) {
    const auto s =
        simd::fused_loop<1>(Arch{}, x.size(), std::array<const T*, 1>{x.data()},
                            std::array<T*, 0>{}, [](const auto& v, auto& acc) {
                                acc[0] += v[0] * decltype(v[0])(T(0));
                                return std::array<std::decay_t<decltype(v[0])>, 0>{};
                            });
    if (s[0] == T(0)) return x.size();
    for (std::size_t i = 0; i < x.size(); ++i)
        if (!std::isfinite(x[i])) return i;
    return x.size();
}

/// "nan", "inf" or "-inf".
inline std::string non_finite_name(double v) {
    return std::isnan(v) ? "nan" : v > 0 ? "inf" : "-inf";
}

// What a model's checks, messages and tables need that does not depend on the network: out
// of the class template, so that a translation unit compiles it once, not once per model.

/// A tensor of the state dict: where it lies in the parameters (or, for running statistics,
/// the state) of the whole model.
struct tensor_entry {
    std::string name;
    parameter_kind kind;
    std::vector<std::size_t> shape;
    std::size_t node, offset;

    std::size_t size() const noexcept {
        std::size_t n = 1;
        for (std::size_t e : shape)
            n *= e;
        return n;
    }
};

/// The signature (a line per node: index, name, output shape) and the named tensors, from
/// each node's name, shape text and tensors, and where its parameters and state start.
inline void build_model_tables(std::span<const std::string> names,
                               std::span<const std::string> shapes,
                               std::span<const std::vector<tensor_slot>> slots,
                               std::span<const std::size_t> parameter_offset,
                               std::span<const std::size_t> state_offset, std::string& signature,
                               std::vector<tensor_entry>& tensors) {
    for (std::size_t i = 0; i < names.size(); ++i) {
        const std::string& name = names[i];
        signature += std::to_string(i) + " " + name + " [" + shapes[i] + "]\n";
        const std::string prefix =
            std::to_string(i) + "." + name.substr(0, name.find_first_of("<(")) + ".";
        for (const tensor_slot& t : slots[i]) {
            const std::size_t base = t.in_state() ? state_offset[i] : parameter_offset[i];
            tensors.push_back({prefix + t.name, t.kind, t.shape, i, base + t.offset});
        }
    }
}

/// "<nan|inf|-inf>) in image <n> at offset <k>" for value v at index i of a batch.
inline std::string where_in_batch(double v, std::size_t i, std::size_t image_size) {
    return non_finite_name(v) + ") in image " + std::to_string(i / image_size) + " at offset " +
           std::to_string(i % image_size);
}

/// Image labels in [0, classes), one per image.
inline void check_labels(std::span<const int> labels, std::size_t batch, std::size_t classes) {
    check_same_size(batch, labels.size(), "the label list");
    for (std::size_t n = 0; n < labels.size(); ++n)
        if (labels[n] < 0 || std::size_t(labels[n]) >= classes)
            throw value_error("maso: image " + std::to_string(n) + " has label " +
                              std::to_string(labels[n]) + ", outside [0, " +
                              std::to_string(classes) + ")");
}

/// A learnable β's θ that is NaN would hide itself (the kernels' guards keep the loss and dθ
/// finite): refused before anything runs. ±∞ are β = 1 and β = 0, both valid.
template <class T>
void check_thetas(const std::vector<tensor_entry>& tensors, std::span<const T> params,
                  std::span<const std::string> names) {
    for (const tensor_entry& t : tensors) {
        if (t.kind != parameter_kind::beta) continue;
        const std::span<const T> p = params.subspan(t.offset, t.size());
        for (std::size_t c = 0; c < p.size(); ++c)
            if (std::isnan(p[c]))
                throw numeric_error("maso: node " + std::to_string(t.node) + " (" + names[t.node] +
                                    "): theta[" + std::to_string(c) + "] is nan");
    }
}

/// The error for a non-finite loss or output: names the first node, in order, whose kept
/// output holds a NaN or an infinity (a fused kernel keeps only its last node's output and
/// its contraction's z: the values arose inside that kernel).
template <class Arch, class T>
numeric_error non_finite_result(const std::string& what, std::span<const std::vector<T>> kept,
                                std::span<const std::string> names) {
    std::string where;
    for (std::size_t i = 1; i < kept.size() && where.empty(); ++i) {
        const std::span<const T> v = kept[i];
        if (const std::size_t k = first_non_finite<Arch>(v); k < v.size())
            where = "; the first non-finite value (" + non_finite_name(v[k]) +
                    ") is in the output of node " + std::to_string(i) + " (" + names[i] + ")";
    }
    return numeric_error("maso: " + what + where);
}
} // namespace detail

/// Arch: the instruction set of its kernels (run::program), by default the widest the
/// compile flags allow.
template <class Net, class Policy = fuse::all_t, class T = float, class Arch = xsimd::default_arch>
class model {
public:
    using program_type = run::program<Net, Policy, T, Arch>;
    using arch_type = Arch;
    using value_type = T;
    static constexpr std::size_t node_count = program_type::node_count;
    static constexpr std::size_t last = node_count - 1;
    using input_shape = plan::output_shape_t<Net, 0>;
    using output_shape = plan::output_shape_t<Net, last>;
    static constexpr bool has_loss = plan::kinds_v<Net>[last] == node_kind::loss;
    /// The group index a profiling build (core/profile.hpp) files the model's own passes under:
    /// one past the program's last group.
    static constexpr std::size_t model_passes = program_type::groups.size();

    model(const Net& net, std::size_t batch, init_options init = {})
        : program_(net, batch), labels_(has_loss ? batch : 0) {
        std::mt19937_64 rng(init.seed);
        init_context ctx{rng, init.weights};
        initialize_layers(ctx, std::make_index_sequence<node_count>{});
        // What the state dict, the signature and the checks read, once: at run time they
        // are loops over these tables, not code per node. Per node there is only what its
        // type decides (its output shape's text and its layer's tensors); the tables are
        // built by one loop.
        const auto [shapes, slots] = [&]<std::size_t... I>(std::index_sequence<I...>) {
            return std::pair{
                std::array<std::string, node_count>{
                    maso::detail::shape_string<plan::output_shape_t<Net, I>>()...},
                std::array<std::vector<tensor_slot>, node_count>{tensor_slots<I>()...}};
        }(std::make_index_sequence<node_count>{});
        build_tables(shapes, slots);
    }

    std::size_t batch() const noexcept { return program_.batch(); }

    /// Runs the network on a batch of images [N][C][H][W]. With a loss node,
    /// `labels` holds one class per image and the mean loss is returned; without
    /// labels a loss network only predicts (output() holds the probabilities) and
    /// returns 0. The labels are copied: the caller may reuse its buffer at once.
    /// See the header comment for what is refused, and when.
    T forward(std::span<const T> images, std::span<const int> labels = {}) {
        if constexpr (has_loss) {
            if (!labels.empty()) detail::check_labels(labels, batch(), output_shape::channels);
        } else if (!labels.empty()) {
            throw value_error("maso: labels given to a network without a loss node");
        }
        detail::check_same_size(input_shape::size * batch(), images.size(), "the input batch");
        if (const std::size_t i = detail::first_non_finite<Arch>(images); i < images.size())
            throw value_error("maso: the input batch has a non-finite value (" +
                              detail::where_in_batch(images[i], i, input_shape::size));
        check_thetas();
        forwarded_ = false;
        if constexpr (has_loss) {
            std::copy(labels.begin(), labels.end(), labels_.begin());
            program_.labels = labels.empty() ? nullptr : labels_.data();
        }
        {
            MASO_RUN_PROFILE(model_passes, false, "input", 0);
            program_.load_input(images);
        }
        const T penalty = [&] {
            MASO_RUN_PROFILE(model_passes, false, "hooks", 0);
            return T(detail::prepare_layers(program_)); // V = GS(W), λ·P(W): once a step
        }();
        program_.forward();
        if constexpr (has_loss)
            if (!labels.empty()) program_.loss += penalty;
        if constexpr (has_loss) {
            if (!labels.empty() && !std::isfinite(program_.loss))
                throw non_finite_result("the loss is " + detail::non_finite_name(program_.loss));
        } else {
            const auto y = program_.template value<last>().span();
            if (const std::size_t i = detail::first_non_finite<Arch, T>(y); i < y.size())
                throw non_finite_result("the output has a non-finite value (" +
                                        detail::non_finite_name(y[i]) + ")");
        }
        forwarded_ = true;
        return has_loss && !labels.empty() ? program_.loss : T(0);
    }

    /// Backward from the loss of the last forward (which needs labels); parameter
    /// gradients are added to.
    void backward() requires has_loss {
        check_forwarded();
        if (!program_.labels)
            throw value_error("maso: backward() needs the labels of the last forward()");
        program_.backward();
        MASO_RUN_PROFILE(model_passes, true, "hooks", 0);
        detail::finish_layers(program_); // dV → dW, λ·∂P/∂W
    }
    /// Backward from ∂L/∂output given as [N][C][H][W]; parameter gradients are added to.
    void backward(std::span<const T> output_gradient) requires(!has_loss) {
        check_forwarded();
        detail::check_same_size(output_shape::size * batch(), output_gradient.size(),
                                "the output gradient");
        if (const std::size_t i = detail::first_non_finite<Arch>(output_gradient);
            i < output_gradient.size())
            throw value_error("maso: the output gradient has a non-finite value (" +
                              detail::non_finite_name(output_gradient[i]) + ") at " +
                              std::to_string(i));
        to_channel_major(output_gradient, program_.template gradient<last>(),
                         "the output gradient");
        program_.backward();
        MASO_RUN_PROFILE(model_passes, true, "hooks", 0);
        detail::finish_layers(program_); // dV → dW, λ·∂P/∂W
    }

    /// The last node's output, channel-major (class probabilities for a loss node).
    activation<output_shape, T> output() noexcept { return program_.template value<last>(); }
    /// The last node's output as [N][C][H][W].
    void output(std::span<T> nchw) {
        from_channel_major(activation<output_shape, const T>{output().data, batch()}, nchw);
    }
    /// ∂L/∂input, channel-major; computed only after enable_input_gradient().
    activation<input_shape, T> input_gradient() noexcept { return program_.template gradient<0>(); }
    /// ∂L/∂input as [N][C][H][W], the images' layout.
    void input_gradient(std::span<T> nchw) {
        from_channel_major(activation<input_shape, const T>{input_gradient().data, batch()}, nchw);
    }
    void enable_input_gradient(bool on = true) noexcept { program_.input_gradient = on; }

    std::span<T> parameters() noexcept { return program_.parameters(); }
    std::span<T> gradients() noexcept { return program_.gradients(); }
    template <std::size_t I>
    std::span<T> parameters() noexcept {
        if constexpr (check_node<I>()) return program_.template parameters<I>();
        return {};
    }
    template <std::size_t I>
    std::span<T> gradients() noexcept {
        if constexpr (check_node<I>()) return program_.template gradients<I>();
        return {};
    }
    void zero_gradients() noexcept {
        for (auto& g : program_.gradients())
            g = T(0);
    }

    /// Every tensor of the model by name, with its kind, shape and spans into the model
    /// (train/parameter.hpp): the parameters with their gradients, and the batch-norm
    /// running statistics (no gradient), in node order. Writing through a span sets it.
    std::vector<parameter_ref<T>> state_dict() {
        std::vector<parameter_ref<T>> out;
        out.reserve(tensors_.size());
        for (const tensor_entry& t : tensors_) {
            const std::size_t n = t.size();
            if (is_trainable(t.kind))
                out.push_back({t.name, t.kind, t.shape, program_.parameters().subspan(t.offset, n),
                               program_.gradients().subspan(t.offset, n)});
            else
                out.push_back({t.name, t.kind, t.shape, program_.state().subspan(t.offset, n), {}});
        }
        return out;
    }

    /// The network as a line per node: index, name and output shape. Two models with the
    /// same signature have the same tensors (checkpoints compare it).
    const std::string& signature() const noexcept { return signature_; }

    void set_mode(mode m) noexcept { program_.phase = m; }
    mode get_mode() const noexcept { return program_.phase; }

    program_type& program() noexcept { return program_; }

private:
    /// E023 for a node index past the last node; true when it is in range.
    template <std::size_t I>
    static constexpr bool check_node() {
        return maso::detail::report<(I < node_count ? diag::ok : diag::node_out_of_range)>();
    }

    /// Node I's tensors (none for the input).
    template <std::size_t I>
    std::vector<tensor_slot> tensor_slots() {
        if constexpr (I == 0)
            return {};
        else
            return program_.template layer<I>().tensors();
    }

    void build_tables(const std::array<std::string, node_count>& shapes,
                      const std::array<std::vector<tensor_slot>, node_count>& slots) {
        detail::build_model_tables(program_.node_names(), shapes, slots,
                                   program_.parameter_offsets(), program_.state_offsets(),
                                   signature_, tensors_);
    }

    template <std::size_t... I>
    void initialize_layers(init_context& ctx, std::index_sequence<I...>) {
        (initialize_one<I>(ctx), ...);
    }
    template <std::size_t I>
    void initialize_one(init_context& ctx) {
        if constexpr (I > 0) {
            auto& layer = program_.template layer<I>();
            layer.initialize(program_.template parameters<I>(), ctx);
            if constexpr (requires { layer.initialize_state(program_.template state<I>()); })
                layer.initialize_state(program_.template state<I>());
        }
    }

    void check_thetas() {
        detail::check_thetas<T>(tensors_, program_.parameters(), program_.node_names());
    }

    void check_forwarded() const {
        if (!forwarded_) throw value_error("maso: backward() needs a successful forward() first");
    }

    numeric_error non_finite_result(const std::string& what) {
        return detail::non_finite_result<Arch, T>(what, program_.kept_outputs(),
                                                  program_.node_names());
    }

    using tensor_entry = detail::tensor_entry;

    program_type program_;
    std::vector<int> labels_; ///< the last forward's labels, owned: backward reads them
    std::vector<tensor_entry> tensors_;
    std::string signature_;
    bool forwarded_ = false;
};

namespace detail {
/// What instantiate returns after a coded error in the network (the chain reported it
/// where it happened): every call compiles and does nothing, so that one mistake gives
/// one error rather than a cascade from inside the program.
struct invalid_model {
    template <class... A>
    float forward(A&&...) {
        return 0;
    }
    template <class... A>
    void backward(A&&...) {}
    template <std::size_t = 0, class... A>
    std::span<float> parameters(A&&...) {
        return {};
    }
    template <std::size_t = 0, class... A>
    std::span<float> gradients(A&&...) {
        return {};
    }
    template <class... A>
    void output(A&&...) {}
    template <class... A>
    void input_gradient(A&&...) {}
    void zero_gradients() {}
    void enable_input_gradient(bool = true) {}
    void set_mode(mode) {}
    std::size_t batch() const { return 0; }
    std::vector<parameter_ref<float>> state_dict() { return {}; }
};
} // namespace detail

/// Allocates a network's parameters, gradients and workspaces for `batch` images, in
/// float unless T says otherwise (`instantiate<double>(net, batch)`).
template <class T = float, class Net, class Policy = fuse::all_t>
auto instantiate(const Net& net, std::size_t batch, Policy = {}, init_options init = {}) {
    using flat = plan::flatten<Net>;
    [[maybe_unused]] constexpr bool ok =
        detail::report<(flat::starts_with_input ? diag::ok : diag::chain_needs_input)>();
    if constexpr (flat::valid)
        return model<Net, Policy, T>(net, batch, init);
    else
        return detail::invalid_model{};
}

} // namespace maso
