// Tests of include/maso/io/prefetch.hpp: the batches are exactly those of the same
// steps done synchronously, whatever the timing; a lent batch is not overwritten
// while the caller holds it; the worker runs at most one batch ahead; an exception
// of the worker reaches the caller at that batch; destruction at any point returns;
// next() allocates nothing. No timing is asserted: the sleeps only vary the
// interleavings.
#include <maso/io/prefetch.hpp>

#include <boost/test/unit_test.hpp>
#include <maso_test/count_allocations.hpp>

#include <atomic>
#include <chrono>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace io = maso::io;
using namespace std::chrono_literals;

namespace {

const io::image_shape shape{2, 4, 4};

/// 37 images with distinct values (1000·n + i) and labels in 4 classes.
io::dataset thirty_seven() {
    std::vector<float> x;
    std::vector<int> l;
    for (int n = 0; n < 37; ++n) {
        for (int i = 0; i < 32; ++i)
            x.push_back(float(1000 * n + i));
        l.push_back((n * 7) % 4);
    }
    return io::dataset(std::move(x), std::move(l), shape, 4, "thirty-seven");
}

/// A transform of the tests: adds the label to every pixel (visible, deterministic).
void add_label(std::span<float> images, std::span<int> labels) {
    for (std::size_t k = 0; k < labels.size(); ++k)
        for (std::size_t i = 0; i < shape.size(); ++i)
            images[k * shape.size() + i] += float(labels[k]);
}

} // namespace

BOOST_AUTO_TEST_CASE(prefetched_batches_equal_the_synchronous_ones) {
    const auto data = thirty_seven();
    const io::sampler_options configs[] = {
        {.batch = 8, .order = io::sampling::class_balanced, .seed = 5},
        {.batch = 8, .order = io::sampling::shuffled, .seed = 6, .drop_last = false},
        {.batch = 5, .order = io::sampling::sequential}};
    std::mt19937 pause(1);
    for (const auto& o : configs) {
        io::prefetcher pre(
            data, io::batch_sampler(data, o),
            {.augment = io::augmenter(shape, {.pad = 1}, 9), .transform = add_label});
        // The synchronous path, step by step with its own sampler and augmenter.
        io::batch_sampler sampler(data, o);
        io::augmenter aug(shape, {.pad = 1}, 9);
        std::vector<float> x(o.batch * shape.size());
        std::vector<int> y(o.batch);
        BOOST_CHECK_EQUAL(pre.steps_per_epoch(), sampler.steps_per_epoch());
        BOOST_CHECK_EQUAL(pre.batch_size(), o.batch);
        for (std::size_t k = 0; k < 3 * sampler.steps_per_epoch(); ++k) {
            if (pause() % 4 == 0) std::this_thread::sleep_for(1ms); // let the worker get ahead
            const io::batch_view b = pre.next();
            const auto idx = sampler.next();
            const auto xs = std::span(x).first(idx.size() * shape.size());
            const auto ys = std::span(y).first(idx.size());
            io::gather(data, idx, xs, ys);
            aug.apply(xs);
            add_label(xs, ys);
            BOOST_REQUIRE_EQUAL(b.size(), idx.size());
            BOOST_CHECK_EQUAL(b.epoch, sampler.epoch());
            BOOST_CHECK_EQUAL(b.step, sampler.step());
            BOOST_REQUIRE(std::equal(b.images.begin(), b.images.end(), xs.begin(), xs.end()));
            BOOST_REQUIRE(std::equal(b.labels.begin(), b.labels.end(), ys.begin(), ys.end()));
        }
    }
}

BOOST_AUTO_TEST_CASE(a_lent_batch_is_not_overwritten_and_the_worker_stays_one_ahead) {
    const auto data = thirty_seven();
    std::atomic<int> prepared{0};
    io::prefetcher pre(data, io::batch_sampler(data, {.batch = 4, .seed = 3}),
                       {.transform = [&](std::span<float>, std::span<int>) { ++prepared; }});
    for (int k = 0; k < 6; ++k) {
        const auto b = pre.next();
        const std::vector<float> copy(b.images.begin(), b.images.end());
        // Time for the worker to prepare the next batch and try the one after.
        std::this_thread::sleep_for(20ms);
        BOOST_CHECK(std::equal(b.images.begin(), b.images.end(), copy.begin(), copy.end()));
        // Batches 0..k taken, k + 1 may be ready: never k + 2 while k is held.
        BOOST_CHECK_LE(prepared.load(), k + 2);
    }
}

BOOST_AUTO_TEST_CASE(an_exception_of_the_worker_is_rethrown_at_its_batch) {
    const auto data = thirty_seven();
    int calls = 0; // touched by the worker only
    io::prefetcher pre(data, io::batch_sampler(data, {.batch = 4, .seed = 3}),
                       {.transform = [&](std::span<float>, std::span<int>) {
                           if (++calls == 4) throw std::runtime_error("disk on fire");
                       }});
    for (int k = 0; k < 3; ++k)
        BOOST_CHECK_NO_THROW(pre.next());
    for (int again = 0; again < 2; ++again) {
        try {
            pre.next();
            BOOST_ERROR("no exception");
        } catch (const std::runtime_error& e) {
            BOOST_CHECK_EQUAL(std::string(e.what()), "disk on fire");
        }
    }
}

BOOST_AUTO_TEST_CASE(a_maso_error_of_the_worker_keeps_its_type) {
    const auto data = thirty_seven();
    io::prefetcher pre(data, io::batch_sampler(data, {.batch = 4, .seed = 3}),
                       {.transform = [](std::span<float>, std::span<int>) {
                           throw maso::value_error("maso: a transform refused");
                       }});
    BOOST_CHECK_THROW(pre.next(), maso::value_error);
}

BOOST_AUTO_TEST_CASE(destruction_returns_at_any_point) {
    const auto data = thirty_seven();
    const io::sampler_options o{.batch = 4, .order = io::sampling::class_balanced, .seed = 3};
    for (int round = 0; round < 20; ++round) {
        { io::prefetcher unused(data, io::batch_sampler(data, o)); } // before any next()
        {
            io::prefetcher one(data, io::batch_sampler(data, o)); // mid-epoch, worker waiting
            one.next();
            if (round % 2) std::this_thread::sleep_for(1ms);
        }
        std::atomic<int> calls{0};
        int taken = 0;
        {
            // A slow transform: destroyed while the worker is inside it.
            io::prefetcher slow(data, io::batch_sampler(data, o),
                                {.transform = [&](std::span<float>, std::span<int>) {
                                    ++calls;
                                    std::this_thread::sleep_for(2ms);
                                }});
            for (; taken < round % 3; ++taken)
                slow.next();
        }
        const int after = calls.load();
        std::this_thread::sleep_for(3ms);
        BOOST_CHECK_EQUAL(calls.load(), after); // the worker is gone
        BOOST_CHECK_LE(after, taken + 2);
    }
}

BOOST_AUTO_TEST_CASE(next_allocates_nothing) {
    const auto data = thirty_seven();
    io::prefetcher pre(
        data,
        io::batch_sampler(data, {.batch = 8, .order = io::sampling::class_balanced, .seed = 1}),
        {.augment = io::augmenter(shape, {.pad = 1}, 2), .transform = add_label});
    pre.next();
    const long before = maso_test::allocations();
    float sum = 0;
    for (int k = 0; k < 40; ++k)
        sum += pre.next().images[0];
    BOOST_CHECK_EQUAL(maso_test::allocations(), before);
    BOOST_CHECK_NE(sum, 0.f);
}

BOOST_AUTO_TEST_CASE(an_augmenter_for_another_shape_is_refused) {
    const auto data = thirty_seven();
    BOOST_CHECK_THROW(io::prefetcher(data, io::batch_sampler(data, {.batch = 4}),
                                     {.augment = io::augmenter({1, 4, 4}, {.pad = 1}, 1)}),
                      maso::size_error);
}
