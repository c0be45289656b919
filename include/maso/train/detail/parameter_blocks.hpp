// maso/train/detail/parameter_blocks.hpp — what the optimisers share: the tensors they update,
// the blocks they cut the parameter buffer into, and how they report a bad option.
// Internal to train/: include <maso/train/sgd.hpp> or <maso/train/adam.hpp>.
//
// Why blocks of a fixed size: an optimiser's step is elementwise, and each block goes through
// one simd::fused_loop (full SIMD batches, then the tail padded through the same batch code),
// so the operations applied to an element depend only on the block it is in. The blocks are
// cut once, from the tensors and the block size alone; parallel_for then hands whole blocks to
// threads. Which thread updates a block changes with the thread count, what it computes does
// not: a step is bitwise the same at any thread count.
#pragma once

#include <maso/core/error.hpp>
#include <maso/core/parameter_kind.hpp>
#include <maso/core/thread_pool.hpp>
#include <maso/train/parameter.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <span>
#include <string>
#include <vector>

namespace maso::detail {

/// One tensor an optimiser updates: its name and shape (as the model's state_dict() gives
/// them) and where its values lie in the flat parameter buffer.
struct optimised_tensor {
    std::string name;
    parameter_kind kind;
    std::vector<std::size_t> shape;
    std::size_t offset, size;
};

/// Values [begin, end) of the parameter buffer and the weight decay they take.
struct update_block {
    std::size_t begin, end;
    double weight_decay;
};

/// Elements per block: large enough that handing a block to a thread costs little beside
/// updating it, small enough that a network of a few hundred thousand values keeps two
/// threads busy.
inline constexpr std::size_t update_block_size = std::size_t(1) << 14;

/// The trainable tensors of a model's state_dict(), located in its parameter buffer.
template <class Model>
std::vector<optimised_tensor> optimised_tensors(Model& model) {
    const auto params = model.parameters();
    std::vector<optimised_tensor> out;
    for (auto& p : model.state_dict()) {
        if (!is_trainable(p.kind) || p.gradient.empty()) continue;
        out.push_back({std::move(p.name), p.kind, std::move(p.shape),
                       std::size_t(p.value.data() - params.data()), p.value.size()});
    }
    return out;
}

/// The whole of a span as one tensor, named "parameters", for optimisers built from spans.
inline std::vector<optimised_tensor> one_tensor(std::size_t size) {
    return {{"parameters", parameter_kind::weight, {size}, 0, size}};
}

/// The blocks of a set of tensors: each takes `weight_decay`, but the θ of learnable βs take
/// none unless decay_beta (decay would pull θ to 0, β to ½). Neighbouring tensors with the
/// same decay share blocks; a block never crosses a change of decay.
inline std::vector<update_block> update_blocks(const std::vector<optimised_tensor>& tensors,
                                               double weight_decay, bool decay_beta) {
    std::vector<update_block> runs;
    for (const optimised_tensor& t : tensors) {
        if (t.size == 0) continue;
        const double wd = t.kind == parameter_kind::beta && !decay_beta ? 0 : weight_decay;
        if (!runs.empty() && runs.back().end == t.offset && runs.back().weight_decay == wd)
            runs.back().end = t.offset + t.size;
        else
            runs.push_back({t.offset, t.offset + t.size, wd});
    }
    std::vector<update_block> blocks;
    for (const update_block& r : runs)
        for (std::size_t b = r.begin; b < r.end; b += update_block_size)
            blocks.push_back({b, std::min(r.end, b + update_block_size), r.weight_decay});
    return blocks;
}

/// Calls f(block) for every block, whole blocks spread over the thread pool.
template <class F>
void for_each_block(std::span<const update_block> blocks, F&& f) {
    parallel_for(blocks.size(), [&](std::size_t begin, std::size_t end, std::size_t) {
        for (std::size_t i = begin; i < end; ++i)
            f(blocks[i]);
    });
}

/// The optimiser's state tensors named "optimizer.<what>.<parameter name>", with the shapes
/// of the parameters they belong to and spans into `buffer` (laid out as the parameters).
inline void name_state(std::vector<parameter_ref<float>>& out,
                       const std::vector<optimised_tensor>& tensors, const char* what,
                       std::span<float> buffer) {
    for (const optimised_tensor& t : tensors)
        out.push_back({std::string("optimizer.") + what + "." + t.name,
                       t.kind,
                       t.shape,
                       buffer.subspan(t.offset, t.size),
                       {}});
}

/// A number in its shortest round-trip form: 0.01, -0.5, 1e-08, inf, nan.
inline std::string shortest(double value) {
    char digits[32];
    const auto end = std::to_chars(digits, digits + sizeof digits, value).ptr;
    return std::string(digits, end);
}

/// The value_error for an option outside its domain: "maso: <who>: <option> = <value> <what>".
[[noreturn]] inline void refuse_option(const char* who, const char* option, double value,
                                       const char* what) {
    throw value_error(std::string("maso: ") + who + ": " + option + " = " + shortest(value) + " " +
                      what);
}

} // namespace maso::detail
