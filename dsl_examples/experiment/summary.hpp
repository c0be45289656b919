// dsl_examples/experiment/summary.hpp — the experiment's report: docs/results.md and its
// picture, written from the run records alone, so that rerunning the command rewrites it.
//
// The page holds the command, the protocol, mean ± sd of the authors' statistic per cell, the
// paper's Table 2 beside it, comparisons that answer the paper's two claims (orthogonality
// helps; a learned β helps), the training curves (gnuplot, PNG), the orthogonality defect of
// every layer at the end, the learned βs and the wall time of every run. Every sentence that
// judges a claim is generated from the paired comparisons (statistics.hpp): nothing on the page
// says more than the numbers under it.
#pragma once

#include "record.hpp"
#include "statistics.hpp"

#include <maso/core/error.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace maso_examples::experiment {

struct summary_options {
    std::filesystem::path markdown;       ///< the page (docs/results.md)
    std::filesystem::path image;          ///< the curves' PNG (docs/img/experiment-curves.png)
    std::filesystem::path work;           ///< where the curves' data and gnuplot script go
    std::string command;                  ///< the command as the user typed it
    std::string gnuplot = "gnuplot";      ///< the program that draws the PNG; empty: no picture
    std::size_t planned = 0;              ///< runs in the grid as asked
    double invocation_seconds = 0;        ///< this invocation's wall time, from start to summary
    std::size_t trained = 0, skipped = 0; ///< runs this invocation trained and found done
};

namespace detail {

inline const std::vector<std::string> unit_order{"relu", "silu", "swish-learned"};
inline const std::vector<std::string> ortho_order{"none", "penalty", "gram-schmidt", "cholesky-qr"};

inline std::size_t rank_of(const std::vector<std::string>& order, const std::string& key) {
    return std::size_t(std::find(order.begin(), order.end(), key) - order.begin());
}

inline std::string unit_label(const std::string& u) {
    if (u == "relu") return "ReLU (β = 1)";
    if (u == "silu") return "SiLU (β = ½)";
    if (u == "swish-learned") return "swish, β learned per channel";
    return u;
}

inline std::string ortho_label(const std::string& o) {
    if (o == "none") return "none";
    if (o == "penalty") return "penalty, λ = 1";
    if (o == "gram-schmidt") return "Gram–Schmidt where K ≤ D";
    if (o == "cholesky-qr") return "CholeskyQR2 where K ≤ D";
    return o;
}

inline std::string unit_description(const std::string& u) {
    if (u == "relu") return "ReLU (β = 1, the hard pass)";
    if (u == "silu") return "SiLU (β = ½ fixed)";
    if (u == "swish-learned")
        return "a swish whose β each channel learns from ½ (β = σ(θ), θ trained with the weights)";
    return u;
}

inline std::string ortho_description(const std::string& o) {
    if (o == "none") return "none (Table 2's \"baseline\")";
    if (o == "penalty")
        return "the penalty P-a, λ = 1, on every weight, the class layer's included (Table 2's "
               "\"Ortho\")";
    if (o == "gram-schmidt") return "the authors' classical Gram–Schmidt";
    if (o == "cholesky-qr") return "the fast exact path, CholeskyQR2";
    return o;
}

/// "ortho::penalty<off_diagonal>(λ = 1)" → "P"; the short marks of the defect table.
inline std::string constraint_mark(const std::string& c) {
    if (c.find("penalty") != std::string::npos) return "P";
    if (c.find("gram_schmidt") != std::string::npos) return "GS";
    if (c.find("cholesky_qr") != std::string::npos) return "QR";
    return "";
}

inline std::string format(const char* f, double v) {
    char text[64];
    std::snprintf(text, sizeof text, f, v);
    return text;
}
inline std::string pct(double share) { return format("%.2f", 100 * share); }
inline std::string lr_text(double lr) { return format("%g", lr); }
inline std::string seconds_text(double s) {
    if (s < 120) return format("%.1f s", s);
    if (s < 7200) return format("%.1f min", s / 60);
    return format("%.2f h", s / 3600);
}

/// The runs of one cell, by seed.
struct cell_runs {
    cell where;
    std::map<std::uint64_t, const run_record*> by_seed;

    std::vector<double> statistics() const {
        std::vector<double> s;
        for (const auto& [seed, r] : by_seed)
            s.push_back(r->statistic());
        return s;
    }
    mean_sd summary() const { return mean_and_sd(statistics()); }
};

/// "88.12 ± 0.21", with "(n = 2)" when the cell has fewer runs than `seeds`.
inline std::string accuracy_text(const mean_sd& m, std::size_t seeds) {
    if (m.n == 0) return "—";
    std::string s = pct(m.mean) + (std::isnan(m.sd) ? "" : " ± " + pct(m.sd));
    if (m.n < seeds) s += " (n = " + std::to_string(m.n) + ")";
    return s;
}

/// a − b over the seeds both cells have.
inline paired_difference compare_cells(const cell_runs& a, const cell_runs& b) {
    std::vector<double> x, y;
    for (const auto& [seed, r] : a.by_seed)
        if (const auto it = b.by_seed.find(seed); it != b.by_seed.end()) {
            x.push_back(r->statistic());
            y.push_back(it->second->statistic());
        }
    return compare_paired(x, y);
}

inline std::string verdict_text(verdict v) {
    switch (v) {
    case verdict::better:
        return "better";
    case verdict::worse:
        return "worse";
    case verdict::unresolved:
        break;
    }
    return "within the spread";
}

struct comparison {
    std::string what;
    paired_difference d;
};

/// One sentence on a claim, from its comparisons' verdicts.
inline std::string reading_of(const std::vector<comparison>& rows, const std::string& claim) {
    std::size_t better = 0, worse = 0, higher = 0, n = 0;
    double largest_gain = -1e300, largest_loss = 1e300;
    for (const comparison& c : rows) {
        if (c.d.difference.n == 0) continue;
        ++n;
        better += c.d.outcome == verdict::better;
        worse += c.d.outcome == verdict::worse;
        higher += c.d.difference.mean > 0;
        largest_gain = std::max(largest_gain, c.d.difference.mean);
        largest_loss = std::min(largest_loss, c.d.difference.mean);
    }
    if (n == 0)
        return "**" + claim + "**: no comparison can be made yet (no cell pair shares a seed).";
    const std::string of = " of " + std::to_string(n) + " comparisons";
    const std::string means = "The mean is higher in " + std::to_string(higher) + of +
                              "; the differences range from " +
                              format("%+.2f", 100 * largest_loss) + " to " +
                              format("%+.2f", 100 * largest_gain) + " points.";
    std::string head;
    if (better == n)
        head = "holds on this data: significantly better in all " + std::to_string(n) +
               " comparisons.";
    else if (better > 0 && worse == 0)
        head = "holds only in part: significantly better in " + std::to_string(better) + of +
               ", never significantly worse.";
    else if (worse > 0 && better == 0)
        head = "does not hold on this data: significantly worse in " + std::to_string(worse) + of +
               ", never significantly better.";
    else if (worse > 0 && better > 0)
        head = "is mixed on this data: significantly better in " + std::to_string(better) +
               " and significantly worse in " + std::to_string(worse) + of + ".";
    else
        head = "is not shown on this data: no difference" + of +
               " exceeds what the spread over seeds allows (paired t test, 95 %).";
    return "**" + claim + "** " + head + " " + means;
}

inline void comparison_table(std::ostream& md, const std::vector<comparison>& rows) {
    md << "| comparison | difference (points, mean ± sd over seeds) | t | verdict |\n"
       << "|---|---|---|---|\n";
    for (const comparison& c : rows) {
        const mean_sd& d = c.d.difference;
        md << "| " << c.what << " | "
           << (d.n == 0 ? "—"
                        : format("%+.2f", 100 * d.mean) +
                              (std::isnan(d.sd) ? "" : " ± " + format("%.2f", 100 * d.sd)))
           << " | " << (std::isnan(c.d.t) ? "—" : format("%.2f", c.d.t)) << " | "
           << verdict_text(c.d.outcome) << " |\n";
    }
    md << "\n";
}

/// Runs the gnuplot script; file_error if gnuplot cannot run it.
inline void run_gnuplot(const std::string& gnuplot, const std::filesystem::path& script) {
    const std::string command = "'" + gnuplot + "' '" + script.string() + "'";
    const int status = std::system(command.c_str());
    if (status != 0)
        throw maso::file_error(script.string(),
                               "gnuplot (" + gnuplot + ") failed on it, status " +
                                   std::to_string(status) +
                                   " (scripts/experiment.sh installs gnuplot-nox; --gnuplot '' "
                                   "writes the page without the picture)");
}

} // namespace detail

/// Writes the page, the curves' data and script, and (with a gnuplot) the PNG.
inline void write_summary(const std::vector<run_record>& records, const summary_options& o) {
    using namespace detail;
    namespace fs = std::filesystem;
    if (records.empty())
        throw maso::value_error("maso: experiment: no finished runs to summarise in " +
                                o.work.string());
    const protocol& grid = records.front().grid;

    // Cells in the table's order: learning rate, unit, orthogonality path.
    std::map<std::tuple<double, std::size_t, std::size_t, std::string, std::string>, cell_runs>
        cells;
    std::set<double> lrs;
    std::set<std::uint64_t> seeds;
    std::vector<std::string> units, orthos;
    for (const run_record& r : records) {
        const auto key =
            std::make_tuple(r.where.lr, rank_of(unit_order, r.where.unit),
                            rank_of(ortho_order, r.where.ortho), r.where.unit, r.where.ortho);
        cell_runs& c = cells[key];
        c.where = r.where;
        c.by_seed[r.seed] = &r;
        lrs.insert(r.where.lr);
        seeds.insert(r.seed);
        if (std::find(units.begin(), units.end(), r.where.unit) == units.end())
            units.push_back(r.where.unit);
        if (std::find(orthos.begin(), orthos.end(), r.where.ortho) == orthos.end())
            orthos.push_back(r.where.ortho);
    }
    const auto by_rank = [](const std::vector<std::string>& order) {
        return [list = &order](const std::string& a, const std::string& b) {
            return std::make_pair(rank_of(*list, a), a) < std::make_pair(rank_of(*list, b), b);
        };
    };
    std::sort(units.begin(), units.end(), by_rank(unit_order));
    std::sort(orthos.begin(), orthos.end(), by_rank(ortho_order));
    const auto find_cell = [&](const std::string& u, const std::string& p,
                               double lr) -> const cell_runs* {
        const auto it =
            cells.find(std::make_tuple(lr, rank_of(unit_order, u), rank_of(ortho_order, p), u, p));
        return it == cells.end() ? nullptr : &it->second;
    };
    const bool several_lrs = lrs.size() > 1;
    const auto row_label = [&](const std::string& u, double lr) {
        return unit_label(u) + (several_lrs ? ", lr " + lr_text(lr) : "");
    };

    std::ostringstream md;
    md << "# The paper's experiment, rerun\n\n"
       << "Written by `dsl_examples/experiment.cpp` (`scripts/experiment.sh`, issue 15) from the "
          "run records in `"
       << o.work.string()
       << "`; rerunning the command rewrites this page, so do not edit it by hand. "
          "[docs/orthogonality.md](orthogonality.md) describes the orthogonality paths, "
          "[docs/training.md](training.md) the trainer.\n\n"
       << "The command:\n\n```sh\n"
       << o.command << "\n```\n\n";

    // ---- protocol ----
    const run_record& first = records.front();
    double total = 0, slowest = 0, fastest = 1e300, load_lo = 1e300, load_hi = -1e300;
    for (const run_record& r : records) {
        total += r.wall_seconds;
        slowest = std::max(slowest, r.wall_seconds);
        fastest = std::min(fastest, r.wall_seconds);
        for (double l : {r.load_before, r.load_after})
            if (!std::isnan(l)) {
                load_lo = std::min(load_lo, l);
                load_hi = std::max(load_hi, l);
            }
    }
    std::string lr_list;
    for (double lr : lrs)
        lr_list += (lr_list.empty() ? "" : ", ") + lr_text(lr);
    md << "## What was run\n\n"
       << "- **Data**: " << grid.data << " files in `" << grid.data_dir << "`; "
       << grid.train_images << " training images and " << grid.test_images
       << " test images (when these are subsets, the first images of each class, the same number "
          "of each); every image centred and scaled to max |x| = 1, the authors' preprocessing.\n"
       << "- **Network**: "
       << (grid.net == "small"
               ? "the authors' smallCNN (`dsl_examples/small_cnn.hpp`, paper-spec §7): three "
                 "convolutions with batch norm and the unit, max pooling, global average "
                 "pooling, a dense class layer.\n"
               : "the paper's largeCNN (`dsl_examples/large_cnn.hpp`, paper-spec §7): nine "
                 "convolutions with batch norm and the unit, global average pooling.\n")
       << "- **Units**:";
    for (const std::string& u : units)
        md << " " << unit_description(u) << (u == units.back() ? "." : ";");
    md << "\n- **Orthogonality**:";
    for (const std::string& p : orthos)
        md << " " << ortho_description(p) << (p == orthos.back() ? "." : ";");
    if (std::find_if(orthos.begin(), orthos.end(), [](const std::string& p) {
            return p == "gram-schmidt" || p == "cholesky-qr";
        }) != orthos.end()) {
        md << " An exact path is impossible where a layer has more rows K than entries D per "
              "row; those layers keep the penalty. Per layer:";
        for (const layer_row& l : first.layers)
            md << " " << l.rows << " × " << l.cols << (l.rows <= l.cols ? " exact" : " penalty")
               << (&l == &first.layers.back() ? "." : ";");
    }
    md << "\n"
       << "- **Training**: the authors' Adam without bias correction, constant learning rate "
       << lr_list << ", class-balanced batches of " << grid.batch << ", " << grid.epochs << " epoch"
       << (grid.epochs == 1 ? "" : "s") << " of " << grid.train_images / grid.batch
       << " steps; the weights and the batches from the seed (seeds";
    for (std::uint64_t s : seeds)
        md << " " << s;
    md << "), so cells under one seed start from the same weights and see the same batches.\n"
       << "- **Statistic**: the authors' — the mean test accuracy (%, whole test subset) of the "
          "last "
       << std::min<std::size_t>(3, grid.epochs)
       << " epochs of a run; a cell is the mean ± sample standard deviation over its seeds.\n"
       << "- **Machine**: " << first.cpu << ", " << first.threads << " threads, " << first.isa
       << "; the 1-minute load average was between " << format("%.2f", load_lo) << " and "
       << format("%.2f", load_hi) << " at the runs' starts and ends (the machine was shared).\n"
       << "- **Wall time**: " << records.size() << " runs took " << seconds_text(total)
       << " in all (" << seconds_text(fastest) << " to " << seconds_text(slowest)
       << " each); the invocation that wrote this page trained " << o.trained << ", found "
       << o.skipped << " finished, and ran " << seconds_text(o.invocation_seconds) << ".";
    if (o.planned > records.size())
        md << " **The grid is incomplete**: " << records.size() << " of " << o.planned
           << " runs are finished.";
    md << "\n\n";

    // ---- accuracy table ----
    const std::size_t n_seeds = seeds.size();
    md << "## Test accuracy (%)\n\n| unit |";
    for (const std::string& p : orthos)
        md << " " << ortho_label(p) << " |";
    md << "\n|---|";
    for (std::size_t i = 0; i < orthos.size(); ++i)
        md << "---|";
    md << "\n";
    const cell_runs *best = nullptr, *worst = nullptr;
    for (const auto& [key, c] : cells) {
        const mean_sd m = c.summary();
        if (!best || m.mean > best->summary().mean) best = &c;
        if (!worst || m.mean < worst->summary().mean) worst = &c;
    }
    for (double lr : lrs)
        for (const std::string& u : units) {
            md << "| " << row_label(u, lr) << " |";
            for (const std::string& p : orthos) {
                const cell_runs* c = find_cell(u, p, lr);
                const std::string text = c ? accuracy_text(c->summary(), n_seeds) : "—";
                md << " " << (c == best ? "**" + text + "**" : text) << " |";
            }
            md << "\n";
        }
    const auto cell_name = [&](const cell_runs& c) {
        return row_label(c.where.unit, c.where.lr) + " with " + ortho_label(c.where.ortho) + ": " +
               accuracy_text(c.summary(), n_seeds) + " %";
    };
    md << "\nThe best cell (bold) is " << cell_name(*best) << "; the worst is " << cell_name(*worst)
       << ".\n\n";

    // ---- the paper ----
    md << "## The paper's Table 2, for reference\n\n"
       << "largeCNN on SVHN, CIFAR-10 and CIFAR-100, test accuracy (%), mean ± std "
          "(paper-spec §7). \"Ortho\" is the cross-entropy + 1 × the orthogonality penalty, "
          "\"baseline\" the cross-entropy alone. The three columns are three learning settings "
          "whose headers were lost from our copy (most likely three Adam learning rates).\n\n"
       << "| setting | col 1 | col 2 | col 3 |\n|---|---|---|---|\n"
       << "| SVHN (baseline) | 94.3 ± 0.1 | 94.4 ± 0.1 | 93.4 ± 0.0 |\n"
       << "| SVHN Ortho | 94.6 ± 0.2 | 95.0 ± 0.2 | 93.8 ± 0.1 |\n"
       << "| CIFAR10 (baseline) | 80.3 ± 0.4 | 80.2 ± 0.2 | 76.2 ± 0.3 |\n"
       << "| CIFAR10 Ortho | 84.0 ± 0.3 | 82.3 ± 0.1 | 79.1 ± 0.2 |\n"
       << "| CIFAR100 (baseline) | 43.6 ± 0.2 | 44.1 ± 0.4 | 37.5 ± 0.5 |\n"
       << "| CIFAR100 Ortho | 46.1 ± 0.2 | 46.3 ± 0.2 | 42.1 ± 0.3 |\n\n"
       << "There the penalty gains 0.3 to 0.6 points on SVHN, 2.1 to 3.7 on CIFAR-10 and 2.2 to "
          "4.6 on CIFAR-100. The paper's learned-β result (Gram–Schmidt + swish on CIFAR-100) "
          "was lost from our copy beyond \"a major improvement\" over every cell above.\n\n";

    // ---- the claims ----
    std::vector<comparison> ortho_rows, exact_rows, beta_rows;
    for (double lr : lrs)
        for (const std::string& u : units)
            for (const std::string& p : orthos) {
                const cell_runs *c = find_cell(u, p, lr), *base = find_cell(u, "none", lr),
                                *pen = find_cell(u, "penalty", lr);
                if (p == "none" || !c) continue;
                if (base)
                    ortho_rows.push_back({row_label(u, lr) + ": " + ortho_label(p) + " − none",
                                          compare_cells(*c, *base)});
                if (p != "penalty" && pen)
                    exact_rows.push_back({row_label(u, lr) + ": " + ortho_label(p) + " − penalty",
                                          compare_cells(*c, *pen)});
            }
    for (double lr : lrs)
        for (const std::string& p : orthos) {
            const cell_runs* learned = find_cell("swish-learned", p, lr);
            if (!learned) continue;
            for (const std::string& fixed : {std::string("relu"), std::string("silu")})
                if (const cell_runs* f = find_cell(fixed, p, lr))
                    beta_rows.push_back({ortho_label(p) +
                                             (several_lrs ? ", lr " + lr_text(lr) : "") +
                                             ": learned β − " + unit_label(fixed),
                                         compare_cells(*learned, *f)});
        }
    md << "## Do the paper's claims hold here?\n\n"
       << "Each comparison below is the difference of two cells' statistics seed by seed (both "
          "cells under one seed start from the same weights and see the same batches), its "
          "mean ± sd over the seeds, and Student's paired t. A difference counts as better or "
          "worse only when |t| exceeds the two-sided 95 % critical value ("
       << format("%.2f", t_critical_95(n_seeds > 1 ? n_seeds - 1 : 1)) << " for " << n_seeds
       << " seeds); otherwise it is within the spread over seeds. The sentences in bold are "
          "generated from these verdicts.\n\n";
    md << "### Orthogonality helps\n\n";
    if (ortho_rows.empty()) {
        md << "The grid has no cell without a constraint to compare with.\n\n";
    } else {
        comparison_table(md, ortho_rows);
        md << reading_of(ortho_rows, "Orthogonality helps") << "\n\n";
    }
    if (!exact_rows.empty()) {
        md << "Exact orthogonality against the penalty (the same layers penalised elsewhere):\n\n";
        comparison_table(md, exact_rows);
        md << reading_of(exact_rows, "Exact orthogonality helps beyond the penalty") << "\n\n";
    }
    md << "### A learned β helps\n\n";
    if (beta_rows.empty()) {
        md << "The grid has no learned-β cell beside a fixed one.\n\n";
    } else {
        comparison_table(md, beta_rows);
        md << reading_of(beta_rows, "A learned β helps") << "\n\n";
    }
    md << "### What this rerun is not\n\n"
       << "The paper's Table 2 is largeCNN on SVHN and CIFAR, 32 × 32 colour images; this run "
          "is "
       << (grid.net == "small" ? "the authors' smallCNN" : "largeCNN") << " on " << grid.data
       << " data, " << grid.epochs << " epoch" << (grid.epochs == 1 ? "" : "s") << " of "
       << grid.train_images << " images (the authors ran 100 to 150 epochs of the whole set), "
       << lrs.size() << " learning rate" << (lrs.size() == 1 ? "" : "s") << " and " << n_seeds
       << " seed" << (n_seeds == 1 ? "" : "s")
       << " per cell (the authors: three learning rates, 5 or 10 runs). A claim that is not "
          "shown here is not refuted for their setting; one that is shown here is shown for "
          "this one.\n\n";

    // ---- curves ----
    fs::create_directories(o.work);
    std::vector<std::pair<std::string, fs::path>> panels; // title, data file
    // One scale per row of panels, so that panels compare at a glance.
    double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
    for (double lr : lrs)
        for (const std::string& u : units) {
            const fs::path dat =
                o.work / ("curves-" + u + (several_lrs ? "-lr" + lr_text(lr) : "") + ".dat");
            std::ofstream out(dat);
            out << "# epoch, then the mean test accuracy (%) and the mean training loss over "
                   "seeds for each path:";
            for (const std::string& p : orthos)
                out << " " << p;
            out << "\n";
            for (std::size_t e = 0; e < grid.epochs; ++e) {
                out << e + 1;
                for (int column = 0; column < 2; ++column)
                    for (const std::string& p : orthos) {
                        std::vector<double> v;
                        if (const cell_runs* c = find_cell(u, p, lr))
                            for (const auto& [seed, r] : c->by_seed)
                                if (e < r->epochs.size())
                                    v.push_back(column == 0 ? 100 * r->epochs[e].test_accuracy
                                                            : r->epochs[e].train_loss);
                        const mean_sd m = mean_and_sd(v);
                        out << " " << (m.n ? format("%.6g", m.mean) : "NaN");
                        if (m.n) {
                            lo[column] = std::min(lo[column], m.mean);
                            hi[column] = std::max(hi[column], m.mean);
                        }
                    }
                out << "\n";
            }
            if (!out) throw maso::file_error(dat.string(), "cannot be written");
            panels.push_back({unit_label(u) + (several_lrs ? ", lr " + lr_text(lr) : ""), dat});
        }
    const fs::path script = o.work / "curves.gp";
    {
        std::ofstream gp(script);
        gp << "# The training curves of docs/results.md, written by dsl_examples/experiment.cpp\n"
           << "set terminal pngcairo size " << 480 * panels.size() << ",760 font \",10\"\n"
           << "set encoding utf8\n"
           << "set output '" << fs::absolute(o.image).string() << "'\n"
           << "set multiplot layout 2," << panels.size()
           << " title \"test accuracy (top) and training loss (bottom) per epoch, mean over "
           << n_seeds << " seeds\"\n"
           << "set grid\nset xlabel 'epoch'\nset xtics 1\n";
        for (int row = 0; row < 2; ++row) {
            const double margin = 0.05 * std::max(hi[row] - lo[row], 1e-3);
            gp << "set yrange [" << lo[row] - margin << ":" << hi[row] + margin << "]\n"
               << "set key " << (row == 0 ? "bottom" : "top") << " right\n"
               << "set ylabel '" << (row == 0 ? "test accuracy (%)" : "training loss") << "'\n";
            for (const auto& [title, dat] : panels) {
                gp << "set title \"" << title << "\"\n"
                   << "plot ";
                for (std::size_t k = 0; k < orthos.size(); ++k)
                    gp << (k ? ", " : "") << "'" << fs::absolute(dat).string()
                       << "' using 1:" << 2 + row * orthos.size() + k << " with linespoints title '"
                       << ortho_label(orthos[k]) << "'";
                gp << "\n";
            }
        }
        gp << "unset multiplot\n";
        if (!gp) throw maso::file_error(script.string(), "cannot be written");
    }
    fs::path image_link = o.image;
    if (!o.markdown.parent_path().empty())
        image_link = fs::relative(fs::absolute(o.image), fs::absolute(o.markdown.parent_path()));
    md << "## Training curves\n\n";
    if (!o.gnuplot.empty()) {
        fs::create_directories(fs::absolute(o.image).parent_path());
        run_gnuplot(o.gnuplot, script);
        md << "![Test accuracy and training loss per epoch, every cell](" << image_link.string()
           << ")\n\n";
    } else {
        md << "No picture: the page was written with `--gnuplot ''`; `gnuplot " << script.string()
           << "` draws it.\n\n";
    }
    md << "The mean over seeds of each epoch's test accuracy (the whole test subset, evaluation "
          "mode) and training loss (the mean over the epoch's steps, training mode; under the "
          "penalty it includes λ·P). The data: `"
       << o.work.string() << "/curves-*.dat`.\n\n";

    // ---- orthogonality defect ----
    md << "## Orthogonality at the end of training\n\n"
       << "max over row pairs i ≠ j of |cos(row i, row j)| of each weight (K × D), mean over "
          "seeds: of W, or, under an exact path (GS, QR), of the matrix the layer computes with. "
          "0 is orthogonal, 1 parallel. P marks a penalised layer.\n\n| unit | path |";
    for (std::size_t k = 0; k < first.layers.size(); ++k) {
        const layer_row& l = first.layers[k];
        md << " " << k + 1 << ": " << l.name.substr(0, l.name.find('<')) << " " << l.rows << " × "
           << l.cols << " |";
    }
    md << "\n|---|---|";
    for (std::size_t k = 0; k < first.layers.size(); ++k)
        md << "---|";
    md << "\n";
    for (const auto& [key, c] : cells) {
        md << "| " << row_label(c.where.unit, c.where.lr) << " | " << ortho_label(c.where.ortho)
           << " |";
        for (std::size_t k = 0; k < first.layers.size(); ++k) {
            std::vector<double> v;
            std::string mark;
            for (const auto& [seed, r] : c.by_seed)
                if (k < r->layers.size()) {
                    v.push_back(r->layers[k].defect);
                    mark = constraint_mark(r->layers[k].constraint);
                }
            const double m = mean_and_sd(v).mean;
            md << " " << (m < 1e-3 ? format("%.1e", m) : format("%.3f", m))
               << (mark.empty() ? "" : " " + mark) << " |";
        }
        md << "\n";
    }
    md << "\n";

    // ---- learned β ----
    md << "## Learned β\n\n";
    bool any_beta = false;
    for (const auto& [key, c] : cells)
        any_beta = any_beta || !c.by_seed.begin()->second->betas.empty();
    if (!any_beta) {
        md << "No cell learned β.\n\n";
    } else {
        md << "β = σ(θ) of every channel at the end, from ½ at the start, pooled over the "
              "seeds: median [quartiles], range. Unit k follows weight k.\n\n| cell |";
        std::size_t beta_layers = 0;
        for (const auto& [key, c] : cells)
            beta_layers = std::max(beta_layers, c.by_seed.begin()->second->betas.size());
        for (std::size_t k = 0; k < beta_layers; ++k)
            md << " unit " << k + 1 << " |";
        md << "\n|---|";
        for (std::size_t k = 0; k < beta_layers; ++k)
            md << "---|";
        md << "\n";
        for (const auto& [key, c] : cells) {
            if (c.by_seed.begin()->second->betas.empty()) continue;
            md << "| " << row_label(c.where.unit, c.where.lr) << ", " << ortho_label(c.where.ortho)
               << " |";
            for (std::size_t k = 0; k < beta_layers; ++k) {
                std::vector<double> pooled;
                for (const auto& [seed, r] : c.by_seed)
                    if (k < r->betas.size())
                        pooled.insert(pooled.end(), r->betas[k].betas.begin(),
                                      r->betas[k].betas.end());
                const distribution d = distribution_of(pooled);
                md << " " << format("%.2f", d.median) << " [" << format("%.2f", d.q1) << ", "
                   << format("%.2f", d.q3) << "], " << format("%.2f", d.min) << "–"
                   << format("%.2f", d.max) << " |";
            }
            md << "\n";
        }
        md << "\n";
    }

    // ---- wall time ----
    md << "## Wall time per run\n\nBuilding the model, training and testing after every epoch; "
          "the 1-minute load average at the run's start → end in parentheses.\n\n| cell |";
    for (std::uint64_t s : seeds)
        md << " seed " << s << " |";
    md << "\n|---|";
    for (std::size_t k = 0; k < seeds.size(); ++k)
        md << "---|";
    md << "\n";
    for (const auto& [key, c] : cells) {
        md << "| " << row_label(c.where.unit, c.where.lr) << ", " << ortho_label(c.where.ortho)
           << " |";
        for (std::uint64_t s : seeds) {
            const auto it = c.by_seed.find(s);
            if (it == c.by_seed.end()) {
                md << " — |";
                continue;
            }
            const run_record& r = *it->second;
            md << " " << seconds_text(r.wall_seconds) << " (" << format("%.1f", r.load_before)
               << " → " << format("%.1f", r.load_after) << ") |";
        }
        md << "\n";
    }
    md << "\n";

    if (!o.markdown.parent_path().empty()) fs::create_directories(o.markdown.parent_path());
    std::ofstream page(o.markdown);
    page << md.str();
    if (!page) throw maso::file_error(o.markdown.string(), "cannot be written");
}

} // namespace maso_examples::experiment
