// maso/io/random_state.hpp — a random engine's state as text, for checkpoints.
//
//   std::mt19937_64 rng(seed);
//   …
//   maso::io::save_checkpoint(path, model, opt, {.step = s, .random_state =
//   random_state_text(rng)}); const auto st = maso::io::load_checkpoint(path, model, opt);
//   maso::io::restore_random_state(rng, st.random_state);  // the same draws as before the save
//
// The text is the engine's operator<<, which the standard specifies for its engines (for
// std::mt19937_64, its 312 state words and position), so it reads back on any standard
// library. restore_random_state refuses text that is not a whole state of the engine with
// maso::value_error, and then leaves the engine as it was.
#pragma once

#include <maso/core/error.hpp>

#include <sstream>
#include <string>

namespace maso::io {

/// The state of a standard random engine (or anything with operator<< and >>) as text.
template <class Engine>
std::string random_state_text(const Engine& engine) {
    std::ostringstream out;
    out << engine;
    return out.str();
}

/// Sets the engine to a state random_state_text wrote.
template <class Engine>
void restore_random_state(Engine& engine, const std::string& text) {
    std::istringstream in(text);
    Engine restored;
    in >> restored;
    if (in.fail() || !(in >> std::ws).eof())
        throw value_error("maso: restore_random_state: the text is not a state of this engine (" +
                          std::to_string(text.size()) + " characters)");
    engine = restored;
}

} // namespace maso::io
