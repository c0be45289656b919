// Tests of include/maso/io/batch_sampler.hpp: determinism for a seed, every index
// once per shuffled epoch, partial last batches, class-balanced batches holding
// batch/C distinct examples of each class, uniformity of the shuffles, refusals,
// and no allocation in next().
#include <maso/io/batch_sampler.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace io = maso::io;

namespace {

std::vector<int> labels_cycling(std::size_t n, int classes) {
    std::vector<int> l(n);
    for (std::size_t i = 0; i < n; ++i)
        l[i] = int(i % std::size_t(classes));
    return l;
}

/// The indices of `epochs` whole epochs, batch after batch.
std::vector<std::size_t> draw(io::batch_sampler& s, std::size_t epochs) {
    std::vector<std::size_t> all;
    for (std::size_t k = 0; k < epochs * s.steps_per_epoch(); ++k) {
        const auto b = s.next();
        all.insert(all.end(), b.begin(), b.end());
    }
    return all;
}

std::string refusal(std::vector<int> labels, std::size_t classes, io::sampler_options o) {
    try {
        io::batch_sampler s(labels, classes, o);
    } catch (const maso::value_error& e) {
        return e.what();
    }
    return "(accepted)";
}

} // namespace

BOOST_AUTO_TEST_CASE(a_seed_fixes_every_batch_and_another_seed_changes_them) {
    const auto labels = labels_cycling(50, 5);
    for (auto order : {io::sampling::shuffled, io::sampling::class_balanced}) {
        io::batch_sampler a(labels, 5, {.batch = 10, .order = order, .seed = 42});
        io::batch_sampler b(labels, 5, {.batch = 10, .order = order, .seed = 42});
        io::batch_sampler c(labels, 5, {.batch = 10, .order = order, .seed = 43});
        const auto da = draw(a, 3), db = draw(b, 3), dc = draw(c, 3);
        BOOST_CHECK(da == db);
        BOOST_CHECK(da != dc);
        // Not the identity order either: the shuffle did something.
        std::vector<std::size_t> first(da.begin(), da.begin() + 10);
        BOOST_CHECK(!std::is_sorted(first.begin(), first.end()));
    }
}

BOOST_AUTO_TEST_CASE(a_shuffled_epoch_holds_every_index_exactly_once) {
    const auto labels = labels_cycling(60, 3);
    io::batch_sampler s(labels, 3, {.batch = 12, .order = io::sampling::shuffled, .seed = 7});
    BOOST_CHECK_EQUAL(s.steps_per_epoch(), 5u);
    BOOST_CHECK_EQUAL(s.size(), 60u);
    std::vector<std::vector<std::size_t>> epochs;
    for (std::size_t e = 0; e < 4; ++e) {
        std::vector<std::size_t> seen;
        for (std::size_t k = 0; k < 5; ++k) {
            const auto b = s.next();
            BOOST_CHECK_EQUAL(b.size(), 12u);
            BOOST_CHECK_EQUAL(s.epoch(), e);
            BOOST_CHECK_EQUAL(s.step(), k);
            seen.insert(seen.end(), b.begin(), b.end());
        }
        epochs.push_back(seen);
        std::sort(seen.begin(), seen.end());
        std::vector<std::size_t> all(60);
        std::iota(all.begin(), all.end(), 0);
        BOOST_CHECK(seen == all);
    }
    BOOST_CHECK(epochs[0] != epochs[1]); // reshuffled every epoch
    BOOST_CHECK(epochs[1] != epochs[2]);
}

BOOST_AUTO_TEST_CASE(the_remainder_is_dropped_or_forms_a_smaller_last_batch) {
    const auto labels = labels_cycling(23, 1);
    io::batch_sampler dropping(labels, 1, {.batch = 5, .seed = 1});
    BOOST_CHECK_EQUAL(dropping.steps_per_epoch(), 4u);
    auto d = draw(dropping, 1);
    BOOST_CHECK_EQUAL(d.size(), 20u);
    BOOST_CHECK_EQUAL(std::set<std::size_t>(d.begin(), d.end()).size(), 20u);

    io::batch_sampler keeping(labels, 1, {.batch = 5, .seed = 1, .drop_last = false});
    BOOST_CHECK_EQUAL(keeping.steps_per_epoch(), 5u);
    for (int epoch = 0; epoch < 2; ++epoch) {
        std::vector<std::size_t> seen;
        for (std::size_t k = 0; k < 5; ++k) {
            const auto b = keeping.next();
            BOOST_CHECK_EQUAL(b.size(), k < 4 ? 5u : 3u);
            seen.insert(seen.end(), b.begin(), b.end());
        }
        BOOST_CHECK_EQUAL(std::set<std::size_t>(seen.begin(), seen.end()).size(), 23u);
        BOOST_CHECK_EQUAL(seen.size(), 23u);
    }
}

BOOST_AUTO_TEST_CASE(sequential_order_is_0_to_n_every_epoch) {
    const auto labels = labels_cycling(10, 2);
    io::batch_sampler s(labels, 2,
                        {.batch = 4, .order = io::sampling::sequential, .drop_last = false});
    const std::vector<std::size_t> expected{0, 1, 2, 3, 4, 5, 6, 7, 8, 9,
                                            0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
    BOOST_CHECK(draw(s, 2) == expected);
}

BOOST_AUTO_TEST_CASE(class_balanced_batches_hold_batch_over_c_distinct_examples_per_class) {
    // Unbalanced classes: 5, 12 and 30 examples, interleaved.
    const int class_size[] = {5, 12, 30};
    std::vector<int> labels;
    for (int c = 0; c < 3; ++c)
        labels.insert(labels.end(), std::size_t(class_size[c]), c);
    std::mt19937 g(3);
    std::shuffle(labels.begin(), labels.end(), g); // any fixed order will do
    io::batch_sampler s(labels, 3, {.batch = 6, .order = io::sampling::class_balanced, .seed = 9});
    BOOST_CHECK_EQUAL(s.steps_per_epoch(), 47u / 6u);
    std::vector<int> times_drawn(labels.size(), 0);
    for (int step = 0; step < 3000; ++step) {
        const auto b = s.next();
        BOOST_REQUIRE_EQUAL(b.size(), 6u);
        int per_class[3] = {0, 0, 0};
        for (std::size_t i : b) {
            BOOST_REQUIRE_LT(i, labels.size());
            ++per_class[labels[i]];
            ++times_drawn[i];
        }
        BOOST_CHECK(per_class[0] == 2 && per_class[1] == 2 && per_class[2] == 2);
        BOOST_CHECK_EQUAL(std::set<std::size_t>(b.begin(), b.end()).size(), 6u);
    }
    // Within a class every example is equally likely: 3000·2/k draws each, for k
    // examples; ±25% is many standard deviations for the counts here.
    for (std::size_t i = 0; i < labels.size(); ++i) {
        const double expected = 3000.0 * 2 / class_size[labels[i]];
        BOOST_CHECK_MESSAGE(std::fabs(times_drawn[i] - expected) < 0.25 * expected,
                            "example " << i << " drawn " << times_drawn[i] << " times, expected "
                                       << expected);
    }
}

BOOST_AUTO_TEST_CASE(shuffles_make_every_permutation_equally_likely) {
    // 4 examples in one batch: 24 permutations, 24000 epochs, about 1000 each
    // (standard deviation 31); the bounds are 6 deviations wide.
    const auto labels = labels_cycling(4, 1);
    io::batch_sampler s(labels, 1, {.batch = 4, .seed = 2024});
    std::map<std::vector<std::size_t>, int> count;
    for (int e = 0; e < 24000; ++e) {
        const auto b = s.next();
        ++count[std::vector<std::size_t>(b.begin(), b.end())];
    }
    BOOST_CHECK_EQUAL(count.size(), 24u);
    for (const auto& [perm, k] : count)
        BOOST_CHECK_MESSAGE(k > 800 && k < 1200, "a permutation came " << k << " times");
}

BOOST_AUTO_TEST_CASE(impossible_requests_are_refused) {
    const auto l = labels_cycling(20, 4);
    BOOST_CHECK_EQUAL(refusal(l, 4, {.batch = 0}),
                      "maso: batch_sampler: the batch size must be at least 1");
    BOOST_CHECK_EQUAL(refusal({}, 4, {.batch = 2}),
                      "maso: batch_sampler: there are no examples to sample");
    BOOST_CHECK_EQUAL(refusal(l, 4, {.batch = 21}),
                      "maso: batch_sampler: the batch size 21 is larger than the 20 examples");
    BOOST_CHECK_EQUAL(refusal(l, 3, {.batch = 2}),
                      "maso: batch_sampler: example 3 has label 3, outside [0, 3)");
    BOOST_CHECK_EQUAL(refusal(l, 4, {.batch = 10, .order = io::sampling::class_balanced}),
                      "maso: batch_sampler: class-balanced batches: the batch size 10 is not a "
                      "multiple of the 4 classes");
    BOOST_CHECK_EQUAL(refusal(l, 5, {.batch = 5, .order = io::sampling::class_balanced}),
                      "maso: batch_sampler: class-balanced batches: class 4 has 0 examples, "
                      "fewer than the 1 each batch draws");
    BOOST_CHECK_EQUAL(refusal(l, 4, {.batch = 4, .drop_last = false}), "(accepted)");
    // A batch larger than the set is fine with a partial batch: one step per epoch.
    io::batch_sampler whole(l, 4, {.batch = 32, .drop_last = false});
    BOOST_CHECK_EQUAL(whole.steps_per_epoch(), 1u);
    BOOST_CHECK_EQUAL(whole.next().size(), 20u);
}

BOOST_AUTO_TEST_CASE(next_allocates_nothing) {
    const auto labels = labels_cycling(100, 5);
    for (auto order :
         {io::sampling::sequential, io::sampling::shuffled, io::sampling::class_balanced}) {
        io::batch_sampler s(labels, 5, {.batch = 15, .order = order, .seed = 1});
        const long before = maso_test::allocations();
        std::size_t sum = 0;
        for (int k = 0; k < 50; ++k)
            for (std::size_t i : s.next())
                sum += i;
        BOOST_CHECK_EQUAL(maso_test::allocations(), before);
        BOOST_CHECK_GT(sum, 0u);
    }
}
