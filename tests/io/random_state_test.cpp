// Tests of include/maso/io/random_state.hpp: an engine restored from its text draws what the
// original draws next; text that is not a whole state is refused and the engine left alone.
#include <maso/io/random_state.hpp>

#include <boost/test/unit_test.hpp>

#include <random>
#include <string>

using namespace maso;

BOOST_AUTO_TEST_CASE(a_restored_engine_continues_the_sequence) {
    std::mt19937_64 g(42);
    for (int i = 0; i < 1000; ++i)
        g();
    const std::string text = io::random_state_text(g);
    std::mt19937_64 h(7);
    io::restore_random_state(h, text);
    for (int i = 0; i < 2000; ++i) // past the next regeneration of the 312 words
        BOOST_REQUIRE_EQUAL(h(), g());
    std::minstd_rand m(3), n;
    m.discard(5);
    io::restore_random_state(n, io::random_state_text(m));
    BOOST_CHECK_EQUAL(n(), m());
}

BOOST_AUTO_TEST_CASE(text_that_is_not_a_state_is_refused) {
    std::mt19937_64 g(1), reference(1);
    const std::string text = io::random_state_text(g);
    for (const std::string& bad :
         {std::string(""), std::string("12 x"), text.substr(0, text.size() / 2), text + " 5",
          std::string("hello")}) {
        std::string message;
        try {
            io::restore_random_state(g, bad);
        } catch (const value_error& e) {
            message = e.what();
        }
        BOOST_CHECK_EQUAL(message.rfind("maso: restore_random_state: the text is not a state of "
                                        "this engine (",
                                        0),
                          0u);
        BOOST_CHECK_EQUAL(g(), reference()); // unchanged
    }
    io::restore_random_state(g, text + "\n"); // trailing white space is fine
}
