// maso/train/model.hpp — an instantiated network: parameters, gradients, forward, backward.
//
// A model owns a lowered program (plan/lower.hpp): every buffer is allocated
// when it is built, and forward/backward allocate nothing. Images come in and
// go out as [N][C][H][W]; inside, activations are channel-major (core/tensor.hpp).
//
//   auto m = instantiate(net, 64);                 // fuse::all, Glorot-uniform, seed 0
//   float loss = m.forward(images, labels);        // the network ends in a loss
//   m.zero_gradients(); m.backward();              // gradients ADD up until zeroed
//   std::span<float> theta = m.parameters<3>();    // node 3's parameters (a learnable β's θ)
#pragma once

#include <maso/plan/lower.hpp>

#include <cstdint>
#include <span>
#include <string>

namespace maso {

struct init_options {
    initializer weights = initializer::glorot_uniform;
    std::uint64_t seed = 0;
};

template <class Net, class Policy = fuse::all_t, class T = float>
class model {
public:
    using program_type = plan::program<Net, Policy, T>;
    static constexpr std::size_t node_count = program_type::node_count;
    static constexpr std::size_t last = node_count - 1;
    using input_shape = plan::output_shape_t<Net, 0>;
    using output_shape = plan::output_shape_t<Net, last>;
    static constexpr bool has_loss = plan::kinds_v<Net>[last] == node_kind::loss;

    model(const Net& net, std::size_t batch, init_options init = {}) : program_(net, batch) {
        std::mt19937_64 rng(init.seed);
        init_context ctx{rng, init.weights};
        initialize_layers(ctx, std::make_index_sequence<node_count>{});
    }

    std::size_t batch() const noexcept { return program_.batch(); }

    /// Runs the network on a batch of images [N][C][H][W]. With a loss node,
    /// `labels` holds one class per image and the mean loss is returned; without
    /// labels a loss network only predicts (output() holds the probabilities) and
    /// returns 0. Labels are checked before anything runs.
    T forward(std::span<const T> images, std::span<const int> labels = {}) {
        if constexpr (has_loss) {
            if (!labels.empty()) {
                detail::check_same_size(batch(), labels.size(), "the label list");
                for (std::size_t n = 0; n < labels.size(); ++n)
                    if (labels[n] < 0 || std::size_t(labels[n]) >= output_shape::channels)
                        throw value_error("maso: image " + std::to_string(n) + " has label " +
                                          std::to_string(labels[n]) + ", outside [0, " +
                                          std::to_string(output_shape::channels) + ")");
            }
            program_.labels = labels.empty() ? nullptr : labels.data();
        } else if (!labels.empty()) {
            throw value_error("maso: labels given to a network without a loss node");
        }
        program_.load_input(images);
        program_.forward();
        return has_loss && !labels.empty() ? program_.loss : T(0);
    }

    /// Backward from the loss; parameter gradients are added to.
    void backward() requires has_loss { program_.backward(); }
    /// Backward from ∂L/∂output given as [N][C][H][W]; parameter gradients are added to.
    void backward(std::span<const T> output_gradient) requires(!has_loss) {
        to_channel_major(output_gradient, program_.template gradient<last>(),
                         "the output gradient");
        program_.backward();
    }

    /// The last node's output, channel-major (class probabilities for a loss node).
    activation<output_shape, T> output() noexcept { return program_.template value<last>(); }
    /// The last node's output as [N][C][H][W].
    void output(std::span<T> nchw) {
        from_channel_major(activation<output_shape, const T>{output().data, batch()}, nchw);
    }
    /// ∂L/∂input, channel-major; computed only after enable_input_gradient().
    activation<input_shape, T> input_gradient() noexcept { return program_.template gradient<0>(); }
    void enable_input_gradient(bool on = true) noexcept { program_.input_gradient = on; }

    std::span<T> parameters() noexcept { return program_.parameters(); }
    std::span<T> gradients() noexcept { return program_.gradients(); }
    template <std::size_t I>
    std::span<T> parameters() noexcept {
        return program_.template parameters<I>();
    }
    template <std::size_t I>
    std::span<T> gradients() noexcept {
        return program_.template gradients<I>();
    }
    void zero_gradients() noexcept {
        for (auto& g : program_.gradients())
            g = T(0);
    }

    void set_mode(mode m) noexcept { program_.phase = m; }
    mode get_mode() const noexcept { return program_.phase; }

    program_type& program() noexcept { return program_; }

private:
    template <std::size_t... I>
    void initialize_layers(init_context& ctx, std::index_sequence<I...>) {
        (initialize_one<I>(ctx), ...);
    }
    template <std::size_t I>
    void initialize_one(init_context& ctx) {
        if constexpr (I > 0)
            program_.template layer<I>().initialize(program_.template parameters<I>(), ctx);
    }

    program_type program_;
};

/// Allocates a network's parameters, gradients and workspaces for `batch` images.
template <class Net, class Policy = fuse::all_t>
auto instantiate(const Net& net, std::size_t batch, Policy = {}, init_options init = {}) {
    using flat = plan::flatten<Net>;
    [[maybe_unused]] constexpr bool ok =
        detail::report<(flat::starts_with_input ? diag::ok : diag::chain_needs_input)>();
    return model<Net, Policy, float>(net, batch, init);
}

} // namespace maso
