// dsl_examples/experiment/run.hpp — one run of the experiment's grid: a network trained under
// the authors' protocol (paper-spec §7) and what the summary needs from it afterwards.
//
// The protocol: the authors' Adam (no bias correction) at a constant learning rate,
// class-balanced batches, the data already preprocessed per image by the caller; the model's
// weights and the batches both from the run's seed, so that two cells under one seed start from
// the same weights and see the same batches (statistics.hpp pairs them). After every epoch the
// trainer tests on the whole test set; after the last, the record takes the orthogonality
// defect of every weight (the matrix the layer computes with: V under an exact path) and the
// learned β of every channel.
#pragma once

#include "record.hpp"

#include <maso/io.hpp>
#include <maso/maso.hpp>
#include <maso/train/trainer.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <string>
#include <utility>
#include <vector>

namespace maso_examples::experiment {

/// The 1-minute load average from /proc/loadavg; NaN where there is none.
inline double load_average() {
    std::ifstream in("/proc/loadavg");
    double load = std::nan("");
    if (!(in >> load)) return std::nan("");
    return load;
}

/// The CPU's model name from /proc/cpuinfo; "unknown" where there is none.
inline std::string cpu_model() {
    std::ifstream in("/proc/cpuinfo");
    for (std::string line; std::getline(in, line);)
        if (line.rfind("model name", 0) == 0 && line.find(':') != std::string::npos)
            return line.substr(line.find(':') + 2);
    return "unknown";
}

inline std::string utc_now() {
    const std::time_t t = std::time(nullptr);
    char text[32];
    std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&t));
    return text;
}

/// The node index that starts a state-dict name, "3.conv2d.weight" → 3.
inline std::size_t node_of(const std::string& name) { return std::stoul(name); }

/// Whether the run finished (false after Ctrl-C, with `record` incomplete).
struct run_outcome {
    bool finished = false;
    run_record record;
};

/// Trains `net` for one run and returns its record. The sets must hold the grid's subsets,
/// preprocessed; progress goes where `progress` says. `stop` is the grid's Ctrl-C flag: a
/// Ctrl-C while the model is built (before the trainer takes over SIGINT) stops the run too.
template <class Net>
run_outcome train_run(const Net& net, const maso::io::dataset& train, const maso::io::dataset& test,
                      const protocol& grid, const cell& where, std::uint64_t seed,
                      maso::progress_options progress, const maso::sigint_flag& stop) {
    using namespace maso;
    run_outcome out;
    run_record& r = out.record;
    r.grid = grid;
    r.where = where;
    r.seed = seed;
    r.load_before = load_average();
    const auto start = std::chrono::steady_clock::now();

    auto model = instantiate(net, grid.batch, fuse::all, {.seed = seed});
    adam opt(model, {.learning_rate = where.lr, .bias_correction = false});
    trainer t(model, opt, train, test,
              {.epochs = grid.epochs,
               .order = io::sampling::class_balanced,
               .seed = seed,
               .progress = progress});
    // fit() installs its own flag, which clears the process-wide one: look at it first.
    if (stop.raised()) return out;
    const train_result result = t.fit();
    if (result.interrupted) return out;

    for (const epoch_metrics& m : result.epochs)
        r.epochs.push_back({m.epoch, m.train_loss, m.train_accuracy, m.test_loss, m.test_accuracy,
                            m.seconds, m.eval_seconds});
    // The constrained layers' metrics measure the matrix they compute with (V = GS(W) under an
    // exact path); the others' W is that matrix.
    const std::vector<orthogonality_metric> constrained = orthogonality_metrics(model);
    for (const auto& p : model.state_dict()) {
        const std::size_t node = node_of(p.name);
        if (p.kind == parameter_kind::beta) {
            beta_row b{node, {}};
            for (const float theta : p.value)
                b.betas.push_back(1 / (1 + std::exp(-double(theta))));
            r.betas.push_back(std::move(b));
        }
        if (p.kind != parameter_kind::weight) continue;
        layer_row l{node,          model.program().node_name(node), "ortho::none",
                    p.shape.at(0), p.value.size() / p.shape.at(0),  0};
        bool found = false;
        for (const orthogonality_metric& m : constrained)
            if (m.node == node) {
                l.constraint = m.constraint;
                l.defect = m.defect;
                found = true;
            }
        if (!found) l.defect = ortho::orthogonality_defect<float>(p.value, l.rows, l.cols);
        r.layers.push_back(std::move(l));
    }
    r.wall_seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.load_after = load_average();
    r.isa = xsimd::default_arch::name();
    r.cpu = cpu_model();
    r.threads = num_threads();
    r.finished = utc_now();
    out.finished = true;
    return out;
}

} // namespace maso_examples::experiment
