// Tests of include/maso/train/progress.hpp: the plain lines (about lines_per_epoch an epoch,
// none at the epoch's last step), the bar (redrawn in place, throttled, cut to the width, cleared
// before a line), the epoch line with and without a test set, notes, and no allocation.
#include <maso/train/progress.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>

#include <sstream>
#include <string>

using namespace maso;

namespace {
step_report at(std::size_t step, std::size_t steps = 20) {
    step_report r;
    r.epoch = 2;
    r.epochs = 5;
    r.step = step;
    r.steps_per_epoch = steps;
    r.global_step = steps + step;
    r.mean_loss = 0.43121;
    r.accuracy = 0.846;
    r.images_per_second = 2634.4;
    r.eta_seconds = 112;
    return r;
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1))
        ++n;
    return n;
}

epoch_metrics epoch(bool evaluated) {
    epoch_metrics m;
    m.epoch = 2;
    m.epochs = 5;
    m.train_loss = 0.40123;
    m.train_accuracy = 0.85714;
    m.evaluated = evaluated;
    m.test_loss = 0.389;
    m.test_accuracy = 0.861;
    m.images_per_second = 2610.2;
    m.seconds = 23.04;
    m.eval_seconds = 1.52;
    return m;
}
} // namespace

BOOST_AUTO_TEST_CASE(lines_when_the_output_is_not_a_terminal) {
    std::ostringstream out;
    progress p({.out = &out, .lines_per_epoch = 4});
    BOOST_TEST(int(p.style()) == int(progress_style::lines));
    for (std::size_t s = 1; s <= 20; ++s)
        p.step(at(s));
    // Steps 5, 10, 15: the 20th is the epoch line's.
    BOOST_TEST(count(out.str(), "\n") == 3u);
    BOOST_TEST(
        out.str().rfind("epoch 2/5 step 5/20 loss 0.4312 acc 84.6% 2634 img/s ETA 1:52\n", 0) == 0);
    BOOST_TEST(out.str().find('\r') == std::string::npos);
    p.epoch_end(epoch(true));
    BOOST_TEST(out.str().substr(out.str().rfind("epoch 2/5:")) ==
               "epoch 2/5: train loss 0.4012 acc 85.71%, test loss 0.3890 acc 86.10%, 2610 img/s, "
               "23.0 s + 1.5 s test\n");
    p.epoch_end(epoch(false));
    BOOST_TEST(out.str().substr(out.str().rfind("epoch 2/5:")) ==
               "epoch 2/5: train loss 0.4012 acc 85.71%, 2610 img/s, 23.0 s\n");
}

BOOST_AUTO_TEST_CASE(an_epoch_shorter_than_the_lines_prints_a_line_a_step) {
    std::ostringstream out;
    progress p({.out = &out, .lines_per_epoch = 10});
    for (std::size_t s = 1; s <= 3; ++s)
        p.step(at(s, 3));
    BOOST_TEST(count(out.str(), "\n") == 2u);
}

BOOST_AUTO_TEST_CASE(a_bar_is_redrawn_in_place_and_cleared_before_a_line) {
    std::ostringstream out;
    progress p({.style = progress_style::bar, .out = &out, .bar_seconds = 3600});
    p.step(at(1));
    // Throttled: within bar_seconds nothing is redrawn, but the epoch's last step is.
    p.step(at(2));
    p.step(at(3));
    BOOST_TEST(count(out.str(), "\r") == 1u);
    p.step(at(20));
    BOOST_TEST(count(out.str(), "\r") == 2u);
    BOOST_TEST(out.str().find("\repoch 2/5 [>         ] 1/20 loss 0.4312 acc 84.6% 2634 img/s ETA "
                              "1:52\x1b[K") == 0u);
    BOOST_TEST(out.str().find("[==========] 20/20") != std::string::npos);
    BOOST_TEST(out.str().find('\n') == std::string::npos);
    p.note("saved");
    BOOST_TEST(out.str().substr(out.str().size() - 10) == "\r\x1b[Ksaved\n");
}

BOOST_AUTO_TEST_CASE(a_bar_is_cut_to_80_columns_and_long_etas_have_hours) {
    std::ostringstream out;
    progress p({.style = progress_style::bar, .out = &out});
    step_report r = at(7, 123456);
    r.epochs = 120;
    r.epoch = 100;
    r.eta_seconds = 3 * 3600 + 62;
    p.step(r);
    const std::string s = out.str();
    BOOST_TEST(s.size() == 1 + 79 + 3); // \r, 79 columns, ESC [ K
    std::ostringstream lines;
    progress q({.style = progress_style::lines, .out = &lines, .lines_per_epoch = 123456});
    q.step(r);
    BOOST_TEST(lines.str().find("ETA 3:01:02\n") != std::string::npos);
    r.eta_seconds = -1;
    q.step(r);
    BOOST_TEST(lines.str().find("ETA ?\n") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(none_shows_nothing) {
    std::ostringstream out;
    progress p({.style = progress_style::none, .out = &out});
    p.step(at(5));
    p.epoch_end(epoch(true));
    p.note("x");
    BOOST_TEST(out.str().empty());
}

BOOST_AUTO_TEST_CASE(showing_a_step_allocates_nothing) {
    // A stream that drops what it gets, so that the test counts the display's allocations
    // and not a growing string's.
    std::ostream sink(nullptr);
    for (const auto style : {progress_style::lines, progress_style::bar}) {
        progress p({.style = style, .out = &sink, .lines_per_epoch = 20, .bar_seconds = 0});
        p.step(at(1));
        const long before = maso_test::allocations();
        for (std::size_t s = 1; s <= 20; ++s)
            p.step(at(s));
        BOOST_TEST(maso_test::allocations() == before);
    }
}
