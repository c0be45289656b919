// bench/peers/race.cpp — maso and libtorch train the same network on Fashion-MNIST, side by side.
//
// The same network on both sides (support/torch_networks.hpp is the libtorch one), from
// identical weights (maso's, copied through state_dict), on the same batches in the same
// order (one io::batch_sampler, gathered once per step for both), with the same SGD
// (lr 0.01, momentum 0.9, weight decay 5e-4 except on θ, maso::sgd's default), for one epoch:
//
//   small_cnn   input<1, 28, 28> → conv 32 3×3 → BN → swish per channel → max pool 2 →
//               conv 64 3×3 valid → BN → swish → max pool 2 → conv 128 1×1 → BN → swish →
//               global mean → dense 10, no bias (the authors' smallCNN, paper-spec §7)
//   large_cnn   the paper's largeCNN (dsl_examples/large_cnn.hpp) on 1×28×28: 28 → 14 → 7 → 5
//
// The steps alternate, maso then libtorch, so both see the same machine; each side's steps
// are timed alone (zero grad, forward, backward, update), the shared batch gathering not.
// Reported: the loss of each at every step and their difference (relative to libtorch's),
// over the first 10 steps and over the epoch; the test accuracy of each after the epoch, in
// evaluation mode (running statistics); images/s of each and maso ÷ libtorch. The images
// get the paper's preprocessing (each image centred and scaled by its largest |value|).
//
//   peers_race [--network small_cnn|large_cnn|both] [--steps N] [--large-cnn-steps N]
//              [--threads N] [--json FILE] [--data DIR]
//
// --steps cuts both races short (the default is one epoch), --large-cnn-steps largeCNN's
// alone (its epoch takes the longest: ≈ 10 minutes a side on a 2-core Zen 5).
//
// Exit status 1 if either side's loss is not finite or the first loss differs by more
// than 1e-4 (relative): the two sides then do not compute the same network.
// maso first: its xsimd include turns off GCC 12's false -Wmaybe-uninitialized in the
// AVX-512 intrinsics headers (PR105593), which libtorch's headers would include first.
#include <maso/io.hpp>
#include <maso/maso.hpp>

#include "support/torch_environment.hpp"
#include "support/torch_networks.hpp"
#include "support/torch_state.hpp"

#include "dsl_examples/large_cnn.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

namespace {

using namespace maso;
namespace peers = maso_peers;
namespace io = maso::io;
using maso_examples::conv_bn_swish;

// clang-format off
const auto small_cnn = input<1, 28, 28>()
    >> conv_bn_swish<32, 3>() >> maxpool<2>()
    >> conv_bn_swish<64, 3, 1, padding::valid>() >> maxpool<2>()
    >> conv_bn_swish<128, 1>() >> global_avgpool() >> dense<10, false>() >> softmax_cross_entropy();

const auto large_cnn = input<1, 28, 28>()
    >> conv_bn_swish<96, 3>() >> conv_bn_swish<96, 3>() >> conv_bn_swish<96, 3, 2>()
    >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3>() >> conv_bn_swish<192, 3, 2>()
    >> conv_bn_swish<192, 3, 1, padding::valid>() >> conv_bn_swish<192, 1>()
    >> conv2d<10, 1>() >> global_avgpool() >> softmax_cross_entropy();
// clang-format on

constexpr sgd_options optimiser{.learning_rate = 0.01f, .momentum = 0.9f, .weight_decay = 5e-4f};
constexpr std::size_t batch = 64, eval_batch = 100;

struct options {
    std::string network = "both";
    std::size_t steps = 0;           ///< 0: one epoch
    std::size_t large_cnn_steps = 0; ///< 0: as steps
    int threads = 2;
    std::string json;
    std::string data = "/usr/share/datasets/fashion-mnist";
};

struct outcome {
    std::string network;
    std::size_t steps = 0, epoch_steps = 0;
    std::vector<double> maso_loss, torch_loss;
    std::vector<double> maso_step_seconds, torch_step_seconds; ///< each step's, for the spread
    double maso_seconds = 0, torch_seconds = 0;
    double maso_accuracy = 0, torch_accuracy = 0;
};

using clock_type = std::chrono::steady_clock;
double seconds_since(clock_type::time_point t) {
    return std::chrono::duration<double>(clock_type::now() - t).count();
}

/// A libtorch network's parameters in two groups: θ without weight decay (as maso::sgd).
torch::optim::SGD torch_optimiser(torch::nn::Module& net) {
    std::vector<torch::Tensor> decayed, thetas;
    for (const auto& p : net.named_parameters())
        (p.key().find("theta") != std::string::npos ? thetas : decayed).push_back(p.value());
    const auto o = torch::optim::SGDOptions(optimiser.learning_rate)
                       .momentum(optimiser.momentum)
                       .weight_decay(optimiser.weight_decay);
    std::vector<torch::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decayed, std::make_unique<torch::optim::SGDOptions>(o));
    groups.emplace_back(thetas, std::make_unique<torch::optim::SGDOptions>(
                                    torch::optim::SGDOptions(o).weight_decay(0)));
    return torch::optim::SGD(std::move(groups), o);
}

torch::Tensor images_tensor(std::span<const float> x, std::size_t n) {
    return torch::from_blob(const_cast<float*>(x.data()), {std::int64_t(n), 1, 28, 28});
}
torch::Tensor labels_tensor(std::span<const int> y) {
    return torch::tensor(std::vector<std::int64_t>(y.begin(), y.end()));
}

/// Test accuracy of a maso model: its state (weights and running statistics) copied into a
/// model for eval_batch images, in evaluation mode.
template <class Net, class Model>
double maso_accuracy(const Net& net, Model& trained, const io::dataset& test) {
    auto m = instantiate(net, eval_batch, fuse::all);
    auto from = trained.state_dict();
    auto to = m.state_dict();
    for (std::size_t k = 0; k < from.size(); ++k)
        std::copy(from[k].value.begin(), from[k].value.end(), to[k].value.begin());
    m.set_mode(mode::evaluation);
    std::size_t right = 0;
    const std::size_t image = test.shape().size();
    for (std::size_t first = 0; first + eval_batch <= test.size(); first += eval_batch) {
        m.forward(test.images().subspan(first * image, eval_batch * image));
        const auto p = m.output(); // channel-major: class c's probabilities for the batch
        for (std::size_t n = 0; n < eval_batch; ++n) {
            std::size_t best = 0;
            for (std::size_t c = 1; c < 10; ++c)
                if (p.channel(c)[n] > p.channel(best)[n]) best = c;
            right += best == std::size_t(test.labels()[first + n]);
        }
    }
    return double(right) / double(test.size() / eval_batch * eval_batch);
}

template <class TorchNet>
double torch_accuracy(TorchNet& net, const io::dataset& test) {
    torch::NoGradGuard no_grad;
    net->eval();
    std::size_t right = 0;
    const std::size_t image = test.shape().size();
    for (std::size_t first = 0; first + eval_batch <= test.size(); first += eval_batch) {
        const torch::Tensor p =
            net->forward(images_tensor(test.images().subspan(first * image, eval_batch * image),
                                       eval_batch))
                .argmax(1);
        for (std::size_t n = 0; n < eval_batch; ++n)
            right += p[std::int64_t(n)].template item<std::int64_t>() ==
                     std::int64_t(test.labels()[first + n]);
    }
    net->train();
    return double(right) / double(test.size() / eval_batch * eval_batch);
}

template <class Net, class TorchNet>
outcome race(const std::string& name, const Net& net, TorchNet torch_net, const io::dataset& train,
             const io::dataset& test, std::size_t steps) {
    outcome r;
    r.network = name;
    auto m = instantiate(net, batch, fuse::all, {.seed = 1});
    peers::copy_state(m.state_dict(), torch_net->state, false);
    sgd opt(m, optimiser);
    torch::optim::SGD torch_opt = torch_optimiser(*torch_net);

    io::batch_sampler sampler(train, {.batch = batch, .order = io::sampling::shuffled, .seed = 1});
    r.epoch_steps = sampler.steps_per_epoch();
    r.steps = steps ? std::min(steps, sampler.steps_per_epoch()) : sampler.steps_per_epoch();
    std::vector<float> x(batch * train.shape().size());
    std::vector<int> y(batch);
    for (std::size_t step = 0; step < r.steps; ++step) {
        io::gather(train, sampler.next(), x, y);

        auto t = clock_type::now();
        m.zero_gradients();
        const float loss = m.forward(x, y);
        m.backward();
        opt.step();
        r.maso_step_seconds.push_back(seconds_since(t));
        r.maso_seconds += r.maso_step_seconds.back();

        t = clock_type::now();
        torch_opt.zero_grad();
        const torch::Tensor l = torch::nn::functional::cross_entropy(
            torch_net->forward(images_tensor(x, batch)), labels_tensor(y));
        l.backward();
        torch_opt.step();
        const double torch_loss = l.item<double>();
        r.torch_step_seconds.push_back(seconds_since(t));
        r.torch_seconds += r.torch_step_seconds.back();

        r.maso_loss.push_back(loss);
        r.torch_loss.push_back(torch_loss);
        if (step % 100 == 0 || step + 1 == r.steps)
            std::fprintf(stderr, "%s step %zu: loss maso %.6f, libtorch %.6f\n", name.c_str(), step,
                         double(loss), torch_loss);
    }
    r.maso_accuracy = maso_accuracy(net, m, test);
    r.torch_accuracy = torch_accuracy(torch_net, test);
    return r;
}

/// The largest |maso − libtorch| / |libtorch| over steps [0, n).
double largest_difference(const outcome& r, std::size_t n) {
    double d = 0;
    for (std::size_t i = 0; i < std::min(n, r.steps); ++i)
        d = std::max(d, std::fabs(r.maso_loss[i] - r.torch_loss[i]) / std::fabs(r.torch_loss[i]));
    return d;
}

void report(const outcome& r) {
    const double maso_rate = double(r.steps * batch) / r.maso_seconds;
    const double torch_rate = double(r.steps * batch) / r.torch_seconds;
    std::printf("%s: %zu steps of %zu images (an epoch is %zu steps)\n", r.network.c_str(),
                r.steps, batch, r.epoch_steps);
    std::printf("  loss difference |maso - libtorch| / libtorch: first 10 steps %.2e, all steps "
                "%.2e\n",
                largest_difference(r, 10), largest_difference(r, r.steps));
    std::printf("  first losses: maso");
    for (std::size_t i = 0; i < std::min<std::size_t>(3, r.steps); ++i)
        std::printf(" %.7f", r.maso_loss[i]);
    std::printf(", libtorch");
    for (std::size_t i = 0; i < std::min<std::size_t>(3, r.steps); ++i)
        std::printf(" %.7f", r.torch_loss[i]);
    std::printf("\n  last loss: maso %.4f, libtorch %.4f\n", r.maso_loss.back(),
                r.torch_loss.back());
    std::printf("  test accuracy: maso %.2f%%, libtorch %.2f%%\n", 100 * r.maso_accuracy,
                100 * r.torch_accuracy);
    std::printf("  images/s: maso %.0f, libtorch %.0f, maso / libtorch %.3f\n", maso_rate,
                torch_rate, maso_rate / torch_rate);
}

void write_json(const std::vector<outcome>& results, const options& o) {
    std::ofstream f(o.json);
    f.precision(9); // a float loss, in full
    f << "{\n  \"threads\": " << o.threads << ",\n  \"batch\": " << batch
      << ",\n  \"environment\": {";
    const char* names[] = {"GLIBC_TUNABLES", "OMP_WAIT_POLICY", "OMP_PROC_BIND",
                           "OPENBLAS_CORETYPE"};
    for (std::size_t i = 0; i < std::size(names); ++i)
        f << (i ? ", " : "") << "\"" << names[i] << "\": \"" << peers::env(names[i]) << "\"";
    f << "},\n  \"runs\": [\n";
    for (std::size_t k = 0; k < results.size(); ++k) {
        const outcome& r = results[k];
        f << "    {\"network\": \"" << r.network << "\", \"steps\": " << r.steps
          << ", \"epoch_steps\": " << r.epoch_steps
          << ", \"maso_seconds\": " << r.maso_seconds << ", \"torch_seconds\": " << r.torch_seconds
          << ", \"maso_accuracy\": " << r.maso_accuracy
          << ", \"torch_accuracy\": " << r.torch_accuracy
          << ", \"difference_first_10\": " << largest_difference(r, 10)
          << ", \"difference_all\": " << largest_difference(r, r.steps)
          << ",\n     \"maso_loss\": [";
        for (std::size_t i = 0; i < r.steps; ++i)
            f << (i ? ", " : "") << r.maso_loss[i];
        f << "],\n     \"torch_loss\": [";
        for (std::size_t i = 0; i < r.steps; ++i)
            f << (i ? ", " : "") << r.torch_loss[i];
        f << "],\n     \"maso_step_seconds\": [";
        for (std::size_t i = 0; i < r.steps; ++i)
            f << (i ? ", " : "") << r.maso_step_seconds[i];
        f << "],\n     \"torch_step_seconds\": [";
        for (std::size_t i = 0; i < r.steps; ++i)
            f << (i ? ", " : "") << r.torch_step_seconds[i];
        f << "]}" << (k + 1 < results.size() ? "," : "") << "\n";
    }
    f << "  ]\n}\n";
}

} // namespace

int main(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string a = argv[i];
        auto value = [&]() -> std::string {
            if (i + 1 >= argc) throw std::runtime_error(a + " needs a value");
            return argv[++i];
        };
        if (a == "--network")
            o.network = value();
        else if (a == "--steps")
            o.steps = std::stoul(value());
        else if (a == "--large-cnn-steps")
            o.large_cnn_steps = std::stoul(value());
        else if (a == "--threads")
            o.threads = std::stoi(value());
        else if (a == "--json")
            o.json = value();
        else if (a == "--data")
            o.data = value();
        else {
            std::fprintf(stderr,
                         "usage: %s [--network small_cnn|large_cnn|both] [--steps N] "
                         "[--large-cnn-steps N] [--threads N] [--json FILE] [--data DIR]\n",
                         argv[0]);
            return 2;
        }
    }
    const int torch_default = peers::torch_default_threads();
    maso::set_num_threads(std::size_t(o.threads));
    torch::set_num_threads(o.threads);
    peers::set_blas_threads(o.threads);
    // each runtime's count read back: the race runs only if all took it
    const int ours = int(maso::num_threads()), torch_n = torch::get_num_threads(),
              blas_n = peers::blas_threads(o.threads);
    std::printf("threads: maso %d, libtorch's OpenMP %d, OpenBLAS %d (asked %d); libtorch's "
                "default %d; %s\n",
                ours, torch_n, blas_n, o.threads, torch_default, peers::blas_description().c_str());
    if (ours != o.threads || torch_n != o.threads || blas_n != o.threads) {
        std::fprintf(stderr, "a runtime did not take %d threads\n", o.threads);
        return 1;
    }

    auto [train, test] = io::load_mnist(o.data);
    io::centre_and_scale(train);
    io::centre_and_scale(test);

    std::vector<outcome> results;
    if (o.network == "small_cnn" || o.network == "both")
        results.push_back(race("small_cnn", small_cnn,
                               peers::small_cnn(1, peers::activation::swish_per_channel), train,
                               test, o.steps));
    if (o.network == "large_cnn" || o.network == "both")
        results.push_back(race("large_cnn", large_cnn,
                               peers::large_cnn(1, peers::activation::swish_per_channel), train,
                               test, o.large_cnn_steps ? o.large_cnn_steps : o.steps));
    int status = 0;
    for (const outcome& r : results) {
        report(r);
        if (!std::isfinite(r.maso_loss.back()) || !std::isfinite(r.torch_loss.back()) ||
            largest_difference(r, 1) > 1e-4)
            status = 1;
    }
    if (!o.json.empty()) write_json(results, o);
    return status;
}
