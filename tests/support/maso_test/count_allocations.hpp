// maso_test/count_allocations.hpp — counts heap allocations, to prove a call makes none.
//
// Replaces the global operator new (plain and aligned, so packing buffers count too) and the
// matching operator delete. The replacements cannot be inline, so this header defines them:
// include it in exactly one translation unit of an executable. Each test is its own executable
// of one source file, so a test includes it directly.
//
// The replacement operators pair malloc with free by construction; g++ cannot see that once it
// inlines them into the standard library's callers and warns, so the warning is off for the
// rest of the translation unit.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdlib>
#include <new>

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif

namespace maso_test {

namespace detail {
inline std::atomic<long> allocation_count{0};
} // namespace detail

/// How many times operator new has been called so far in this process.
inline long allocations() { return detail::allocation_count.load(); }

} // namespace maso_test

void* operator new(std::size_t n) {
    ++maso_test::detail::allocation_count;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void* operator new(std::size_t n, std::align_val_t a) {
    ++maso_test::detail::allocation_count;
    const std::size_t al = static_cast<std::size_t>(a);
    if (void* p = std::aligned_alloc(al, (n + al - 1) / al * al)) return p;
    throw std::bad_alloc();
}
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
