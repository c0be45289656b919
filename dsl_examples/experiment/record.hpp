// dsl_examples/experiment/record.hpp — one finished run of the experiment's grid as it is kept
// on disk: a JSON file per run in the results directory, written when the run ends.
//
// A run is a cell (unit × orthogonality path × learning rate) and a seed, trained under the
// grid's protocol (data, network, epochs, subsets, batch). The file holds the protocol, the
// cell, the seed, every epoch's metrics, the orthogonality defect of every weight at the end,
// the learned βs, the wall time and the load average around it. The grid runner skips a run
// whose file exists, and refuses to mix protocols in one directory: a file written under
// another protocol is an error that names it and the first field that differs.
//
// The file is written to a temporary name and renamed, so a run stopped while writing leaves
// no file that looks finished.
#pragma once

#include <maso/core/error.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace maso_examples::experiment {

/// What every run of a grid shares.
struct protocol {
    std::string data;             ///< "MNIST-format", "CIFAR-10" or "CIFAR-100"
    std::string net;              ///< "small" or "large"
    std::size_t epochs = 0;       ///< epochs of train_images / batch steps
    std::size_t train_images = 0; ///< the training subset (class-balanced), or the whole set
    std::size_t test_images = 0;  ///< the test subset (class-balanced), or the whole set
    std::size_t batch = 0;        ///< images a step, batch / classes of each class
    std::string data_dir;         ///< where the data came from (not compared)
    bool operator==(const protocol&) const = default;
};

/// One column of the grid's table.
struct cell {
    std::string unit;  ///< "relu", "silu", "swish-learned"
    std::string ortho; ///< "none", "penalty", "gram-schmidt", "cholesky-qr"
    double lr = 0;     ///< the constant learning rate
};

struct epoch_row {
    std::size_t epoch = 0;
    double train_loss = 0, train_accuracy = 0, test_loss = 0, test_accuracy = 0;
    double seconds = 0, eval_seconds = 0;
};

/// A weight at the end of training: K rows of D entries, its constraint, and max |cos| between
/// the rows of the matrix the layer computes with (W, or V under an exact path).
struct layer_row {
    std::size_t node = 0;
    std::string name, constraint;
    std::size_t rows = 0, cols = 0;
    double defect = 0;
};

/// A β-VQ unit whose β each channel learns: β = σ(θ) per channel at the end.
struct beta_row {
    std::size_t node = 0;
    std::vector<double> betas;
};

struct run_record {
    protocol grid;
    cell where;
    std::uint64_t seed = 0;
    std::vector<epoch_row> epochs;
    std::vector<layer_row> layers;
    std::vector<beta_row> betas;
    double wall_seconds = 0;                ///< building the model, training and testing
    double load_before = 0, load_after = 0; ///< the 1-minute load average (NaN if unknown)
    std::string isa, cpu;
    std::size_t threads = 0;
    std::string finished; ///< UTC, ISO 8601

    /// The authors' statistic: the mean test accuracy of the last three epochs (of all of them
    /// when there are fewer), a share in [0, 1].
    double statistic() const {
        const std::size_t k = std::min<std::size_t>(3, epochs.size());
        double sum = 0;
        for (std::size_t e = epochs.size() - k; e < epochs.size(); ++e)
            sum += epochs[e].test_accuracy;
        return k ? sum / double(k) : std::nan("");
    }
};

/// "relu_penalty_lr0.001_seed2.json"
inline std::string run_file_name(const cell& c, std::uint64_t seed) {
    char lr[32];
    std::snprintf(lr, sizeof lr, "%g", c.lr);
    return c.unit + "_" + c.ortho + "_lr" + lr + "_seed" + std::to_string(seed) + ".json";
}

/// The first field in which a differs from b, as "epochs: 6 here, 8 in the file"; empty if the
/// protocols agree (data_dir aside: the same files may sit elsewhere).
inline std::string first_difference(const protocol& a, const protocol& b) {
    const auto differ = [](const char* what, const auto& x, const auto& y) -> std::string {
        std::ostringstream s;
        s << what << ": " << x << " here, " << y << " in the file";
        return s.str();
    };
    if (a.data != b.data) return differ("data", a.data, b.data);
    if (a.net != b.net) return differ("net", a.net, b.net);
    if (a.epochs != b.epochs) return differ("epochs", a.epochs, b.epochs);
    if (a.train_images != b.train_images)
        return differ("training images", a.train_images, b.train_images);
    if (a.test_images != b.test_images) return differ("test images", a.test_images, b.test_images);
    if (a.batch != b.batch) return differ("batch", a.batch, b.batch);
    return {};
}

// JSON has no NaN: an unknown load average is written as null and read back as NaN.
inline nlohmann::json number_or_null(double v) {
    return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(nullptr);
}
inline double number_or_nan(const nlohmann::json& j) {
    return j.is_null() ? std::nan("") : j.get<double>();
}

inline nlohmann::json to_json(const run_record& r) {
    using nlohmann::json;
    json j;
    j["format"] = "maso-experiment-run/1";
    j["protocol"] = {{"data", r.grid.data},
                     {"net", r.grid.net},
                     {"epochs", r.grid.epochs},
                     {"train_images", r.grid.train_images},
                     {"test_images", r.grid.test_images},
                     {"batch", r.grid.batch},
                     {"data_dir", r.grid.data_dir}};
    j["cell"] = {{"unit", r.where.unit}, {"ortho", r.where.ortho}, {"lr", r.where.lr}};
    j["seed"] = r.seed;
    j["statistic"] = r.statistic();
    json epochs = json::array();
    for (const epoch_row& e : r.epochs)
        epochs.push_back({{"epoch", e.epoch},
                          {"train_loss", e.train_loss},
                          {"train_accuracy", e.train_accuracy},
                          {"test_loss", e.test_loss},
                          {"test_accuracy", e.test_accuracy},
                          {"seconds", e.seconds},
                          {"eval_seconds", e.eval_seconds}});
    j["epochs"] = epochs;
    json layers = json::array();
    for (const layer_row& l : r.layers)
        layers.push_back({{"node", l.node},
                          {"name", l.name},
                          {"constraint", l.constraint},
                          {"rows", l.rows},
                          {"cols", l.cols},
                          {"defect", l.defect}});
    j["layers"] = layers;
    json betas = json::array();
    for (const beta_row& b : r.betas)
        betas.push_back({{"node", b.node}, {"betas", b.betas}});
    j["betas"] = betas;
    j["wall_seconds"] = r.wall_seconds;
    j["load_before"] = number_or_null(r.load_before);
    j["load_after"] = number_or_null(r.load_after);
    j["isa"] = r.isa;
    j["cpu"] = r.cpu;
    j["threads"] = r.threads;
    j["finished"] = r.finished;
    return j;
}

inline run_record record_from_json(const nlohmann::json& j) {
    if (j.at("format").get<std::string>() != "maso-experiment-run/1")
        throw std::invalid_argument("its format is " + j.at("format").dump() +
                                    ", not \"maso-experiment-run/1\"");
    run_record r;
    const auto& p = j.at("protocol");
    r.grid = {p.at("data").get<std::string>(),        p.at("net").get<std::string>(),
              p.at("epochs").get<std::size_t>(),      p.at("train_images").get<std::size_t>(),
              p.at("test_images").get<std::size_t>(), p.at("batch").get<std::size_t>(),
              p.at("data_dir").get<std::string>()};
    const auto& c = j.at("cell");
    r.where = {c.at("unit").get<std::string>(), c.at("ortho").get<std::string>(),
               c.at("lr").get<double>()};
    r.seed = j.at("seed").get<std::uint64_t>();
    for (const auto& e : j.at("epochs"))
        r.epochs.push_back({e.at("epoch").get<std::size_t>(), e.at("train_loss").get<double>(),
                            e.at("train_accuracy").get<double>(), e.at("test_loss").get<double>(),
                            e.at("test_accuracy").get<double>(), e.at("seconds").get<double>(),
                            e.at("eval_seconds").get<double>()});
    for (const auto& l : j.at("layers"))
        r.layers.push_back({l.at("node").get<std::size_t>(), l.at("name").get<std::string>(),
                            l.at("constraint").get<std::string>(), l.at("rows").get<std::size_t>(),
                            l.at("cols").get<std::size_t>(), l.at("defect").get<double>()});
    for (const auto& b : j.at("betas"))
        r.betas.push_back(
            {b.at("node").get<std::size_t>(), b.at("betas").get<std::vector<double>>()});
    r.wall_seconds = j.at("wall_seconds").get<double>();
    r.load_before = number_or_nan(j.at("load_before"));
    r.load_after = number_or_nan(j.at("load_after"));
    r.isa = j.at("isa").get<std::string>();
    r.cpu = j.at("cpu").get<std::string>();
    r.threads = j.at("threads").get<std::size_t>();
    r.finished = j.at("finished").get<std::string>();
    if (r.epochs.empty()) throw std::invalid_argument("it has no epochs");
    return r;
}

/// Reads a run's file; file_error naming it if it cannot be read or is not a run record.
inline run_record read_record(const std::filesystem::path& p) {
    std::ifstream in(p);
    if (!in) throw maso::file_error(p.string(), "cannot be read");
    try {
        return record_from_json(nlohmann::json::parse(in));
    } catch (const nlohmann::json::exception& e) {
        throw maso::file_error(p.string(), std::string("not a run record of the experiment (") +
                                               e.what() + "); delete it to run it again");
    } catch (const std::invalid_argument& e) {
        throw maso::file_error(p.string(), std::string("not a run record of the experiment (") +
                                               e.what() + "); delete it to run it again");
    }
}

/// Writes a run's file atomically: to p + ".tmp", then renamed to p.
inline void write_record(const std::filesystem::path& p, const run_record& r) {
    const std::filesystem::path tmp = p.string() + ".tmp";
    {
        std::ofstream out(tmp);
        out << to_json(r).dump(1) << "\n";
        if (!out) throw maso::file_error(tmp.string(), "cannot be written");
    }
    std::error_code ec;
    std::filesystem::rename(tmp, p, ec);
    if (ec) throw maso::file_error(p.string(), "cannot be renamed from .tmp: " + ec.message());
}

} // namespace maso_examples::experiment
