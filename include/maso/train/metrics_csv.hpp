// maso/train/metrics_csv.hpp — a trainer's per-epoch metrics as a CSV file, one row an epoch.
//
//   epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds,eval_seconds,images_per_second
//   1,600,0.551013,0.80215,0.412577,0.8521,0.001,23.041,1.523,2603.8
//
// Accuracies are shares in [0, 1]; the test columns are empty without a test set. Each row is
// flushed when written, so the file is complete up to the last finished epoch whenever the run
// stops, and a plotting script can read it while the run goes on:
//
//   import pandas as pd; pd.read_csv("run.csv").plot(x="epoch", y=["train_accuracy",
//   "test_accuracy"])
//
// A new run replaces the file; a resumed run appends to it (the header only if it is empty).
// A file that cannot be opened or written raises maso::file_error naming it and the system's
// reason.
#pragma once

#include <maso/core/error.hpp>
#include <maso/train/epoch_metrics.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

namespace maso {

class metrics_csv {
public:
    static constexpr const char* header =
        "epoch,step,train_loss,train_accuracy,test_loss,test_accuracy,learning_rate,seconds,"
        "eval_seconds,images_per_second\n";

    /// Opens the file: appending to what is there if `append`, else replacing it. Writes the
    /// header if the file is then empty.
    explicit metrics_csv(const std::filesystem::path& path, bool append = false)
        : path_(path.string()) {
        file_ = std::fopen(path_.c_str(), append ? "a" : "w");
        if (!file_)
            throw file_error(path_,
                             std::string("cannot open for writing: ") + std::strerror(errno));
        std::fseek(file_, 0, SEEK_END);
        if (std::ftell(file_) == 0) put(header);
    }
    metrics_csv(const metrics_csv&) = delete;
    metrics_csv& operator=(const metrics_csv&) = delete;
    ~metrics_csv() {
        if (file_) std::fclose(file_);
    }

    /// One row, flushed.
    void write(const epoch_metrics& m) {
        char row[512];
        int n =
            std::snprintf(row, sizeof row, "%zu,%llu,%.6g,%.6g,", m.epoch,
                          static_cast<unsigned long long>(m.step), m.train_loss, m.train_accuracy);
        if (m.evaluated)
            n += std::snprintf(row + n, sizeof row - std::size_t(n), "%.6g,%.6g,", m.test_loss,
                               m.test_accuracy);
        else
            n += std::snprintf(row + n, sizeof row - std::size_t(n), ",,");
        std::snprintf(row + n, sizeof row - std::size_t(n), "%.6g,%.3f,%.3f,%.1f\n",
                      m.learning_rate, m.seconds, m.eval_seconds, m.images_per_second);
        put(row);
    }

    const std::string& path() const noexcept { return path_; }

private:
    void put(const char* text) {
        if (std::fputs(text, file_) == EOF || std::fflush(file_) == EOF)
            throw file_error(path_, std::string("cannot write: ") + std::strerror(errno));
    }

    std::string path_;
    std::FILE* file_ = nullptr;
};

} // namespace maso
