// maso/train/progress.hpp — what a training run shows while it runs: a bar on a terminal,
// plain log lines elsewhere.
//
// On a terminal, one line is redrawn in place (at most every bar_seconds), cut to the
// terminal's width:
//
//   epoch 2/5 [=====>    ] 412/600 loss 0.4312 acc 84.6% 2634 img/s ETA 1:52
//
// When the output is a file or a pipe (a log, CI), a bar would be a stream of carriage
// returns, so it prints lines_per_epoch plain lines an epoch instead:
//
//   epoch 2/5 step 60/600 loss 0.4312 acc 84.6% 2634 img/s ETA 1:52
//
// Both end each epoch with one line that stays:
//
//   epoch 2/5: train loss 0.4012 acc 85.71%, test loss 0.3890 acc 86.10%, 2610 img/s, 23.0 s + 1.5
//   s test
//
// Lines are formatted into a fixed buffer and written with one ostream::write: showing a
// step allocates nothing, and a step that does not redraw costs a clock read.
#pragma once

#include <maso/train/epoch_metrics.hpp>
#include <maso/train/step_report.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdio>
#include <iostream>
#include <ostream>
#include <string_view>
#include <sys/ioctl.h>
#include <unistd.h>

namespace maso {

enum class progress_style {
    automatic, ///< a bar if the output is a terminal, lines otherwise
    bar,       ///< one line redrawn in place
    lines,     ///< plain lines
    none       ///< nothing, not even the epoch lines
};

struct progress_options {
    progress_style style = progress_style::automatic;
    /// Where to write; std::cout and std::cerr are recognised as terminals or not.
    std::ostream* out = &std::cout;
    std::size_t lines_per_epoch = 10; ///< lines: about this many step lines an epoch
    double bar_seconds = 0.1;         ///< bar: redraw at most this often
};

class progress {
public:
    explicit progress(progress_options o = {}) : options_(o) {
        const int fd = o.out == &std::cout                          ? STDOUT_FILENO
                       : o.out == &std::cerr || o.out == &std::clog ? STDERR_FILENO
                                                                    : -1;
        const bool terminal = fd >= 0 && ::isatty(fd) == 1;
        style_ = o.style != progress_style::automatic ? o.style
                 : terminal                           ? progress_style::bar
                                                      : progress_style::lines;
        if (!options_.out) style_ = progress_style::none;
        struct winsize w {};
        if (terminal && ::ioctl(fd, TIOCGWINSZ, &w) == 0 && w.ws_col > 20) width_ = w.ws_col;
    }

    /// The style in use: never automatic.
    progress_style style() const noexcept { return style_; }

    /// Shows a step, if it is time to.
    void step(const step_report& r) {
        if (style_ == progress_style::bar) {
            const auto now = std::chrono::steady_clock::now();
            const bool last = r.step == r.steps_per_epoch;
            if (drawn_ && !last &&
                now - last_draw_ < std::chrono::duration<double>(options_.bar_seconds))
                return;
            last_draw_ = now;
            draw_bar(r);
        } else if (style_ == progress_style::lines) {
            const std::size_t every = std::max<std::size_t>(
                1, r.steps_per_epoch / std::max<std::size_t>(1, options_.lines_per_epoch));
            if (r.step % every == 0 && r.step < r.steps_per_epoch) {
                line_.clear();
                append_step(r, false);
                emit_line();
            }
        }
    }

    /// Shows the line of a finished epoch.
    void epoch_end(const epoch_metrics& m) {
        if (style_ == progress_style::none) return;
        line_.clear();
        line_.print("epoch %zu/%zu: train loss %.4f acc %.2f%%", m.epoch, m.epochs, m.train_loss,
                    100 * m.train_accuracy);
        if (m.evaluated)
            line_.print(", test loss %.4f acc %.2f%%", m.test_loss, 100 * m.test_accuracy);
        line_.print(", %.0f img/s, %.1f s", m.images_per_second, m.seconds);
        if (m.evaluated) line_.print(" + %.1f s test", m.eval_seconds);
        emit_line();
    }

    /// A line of its own (a message of the run), below the bar if one is drawn.
    void note(std::string_view text) {
        if (style_ == progress_style::none) return;
        line_.clear();
        line_.append(text);
        emit_line();
    }

private:
    /// A line in a fixed buffer: printing past its end cuts the line.
    struct line_buffer {
        std::array<char, 512> text{};
        std::size_t size = 0;

        void clear() noexcept { size = 0; }
        template <class... A>
        void print(const char* format, A... a) noexcept {
            const int n = std::snprintf(text.data() + size, text.size() - size, format, a...);
            if (n > 0) size = std::min(text.size() - 1, size + std::size_t(n));
        }
        void append(std::string_view s) noexcept {
            const std::size_t n = std::min(s.size(), text.size() - 1 - size);
            std::copy_n(s.data(), n, text.data() + size);
            size += n;
        }
    };

    void append_step(const step_report& r, bool bar) {
        line_.print("epoch %zu/%zu ", r.epoch, r.epochs);
        if (bar) {
            constexpr std::size_t cells = 10;
            const std::size_t full = r.step * cells / std::max<std::size_t>(1, r.steps_per_epoch);
            char cells_text[cells + 1];
            for (std::size_t i = 0; i < cells; ++i)
                cells_text[i] = i < full ? '=' : i == full ? '>' : ' ';
            cells_text[cells] = '\0';
            line_.print("[%s] %zu/%zu", cells_text, r.step, r.steps_per_epoch);
        } else {
            line_.print("step %zu/%zu", r.step, r.steps_per_epoch);
        }
        line_.print(" loss %.4f acc %.1f%% %.0f img/s ETA ", r.mean_loss, 100 * r.accuracy,
                    r.images_per_second);
        append_duration(r.eta_seconds);
    }

    /// m:ss, or h:mm:ss from an hour on; "?" before there is an estimate.
    void append_duration(double seconds) {
        if (!(seconds >= 0) || !std::isfinite(seconds)) {
            line_.append("?");
            return;
        }
        const auto s = static_cast<unsigned long long>(seconds + 0.5);
        if (s >= 3600)
            line_.print("%llu:%02llu:%02llu", s / 3600, s / 60 % 60, s % 60);
        else
            line_.print("%llu:%02llu", s / 60, s % 60);
    }

    void draw_bar(const step_report& r) {
        line_.clear();
        line_.append("\r");
        append_step(r, true);
        // Cut to the terminal (a wrapped line cannot be redrawn), then clear what a longer
        // previous line left.
        line_.size = std::min(line_.size, width_);
        line_.append("\x1b[K");
        options_.out->write(line_.text.data(), std::streamsize(line_.size));
        options_.out->flush();
        drawn_ = true;
    }

    /// Writes line_ and a newline, over the bar if one is drawn.
    void emit_line() {
        if (drawn_) options_.out->write("\r\x1b[K", 4);
        drawn_ = false;
        line_.append("\n");
        options_.out->write(line_.text.data(), std::streamsize(line_.size));
        options_.out->flush();
    }

    progress_options options_;
    progress_style style_ = progress_style::lines;
    /// The terminal's columns, or 80. The bar line is \r and width_ − 1 columns: writing the
    /// last column would wrap on some terminals.
    std::size_t width_ = 80;
    line_buffer line_;
    bool drawn_ = false; ///< a bar is on the current line
    std::chrono::steady_clock::time_point last_draw_{};
};

} // namespace maso
