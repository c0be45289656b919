// maso/kernels/gemm/workspace.hpp — the packed blocks' memory: one buffer per thread,
// ISA and value type, allocated once for the largest blocks of any product.
//
// A model reserves every pool thread's buffer when it is instantiated
// (reserve_workspace), so that its forward and backward passes allocate nothing; only
// the pages a product touches are written.
#pragma once

#include <maso/core/thread_pool.hpp>
#include <maso/kernels/gemm/blocking.hpp>

#include <cstddef>
#include <new>

namespace maso::kernels {

namespace detail {

/// A 64-byte aligned buffer that only grows (see the header comment).
template <class Arch, class T>
class gemm_workspace {
public:
    gemm_workspace() = default;
    gemm_workspace(const gemm_workspace&) = delete;
    gemm_workspace& operator=(const gemm_workspace&) = delete;
    ~gemm_workspace() { release(); }

    T* get(std::size_t n) {
        if (n > size_) {
            release();
            data_ = static_cast<T*>(::operator new (n * sizeof(T), std::align_val_t{64}));
            size_ = n;
        }
        return data_;
    }

private:
    void release() {
        if (data_) ::operator delete (data_, std::align_val_t{64});
        data_ = nullptr;
        size_ = 0;
    }
    T* data_ = nullptr;
    std::size_t size_ = 0;
};

/// The calling thread's workspace, one per (Arch, T).
template <class Arch, class T>
gemm_workspace<Arch, T>& thread_workspace() {
    thread_local gemm_workspace<Arch, T> w;
    return w;
}

} // namespace detail

/// Allocates the packing buffer of every pool thread now instead of at its first
/// product: a model does this when it is instantiated, so that its forward and
/// backward passes allocate nothing.
template <class Arch = xsimd::default_arch, class T>
void reserve_workspace() {
    using B = gemm_blocking<Arch, T>;
    on_each_thread([](std::size_t) {
        detail::thread_workspace<Arch, T>().get(B::KC * B::NC + B::MC * B::KC);
    });
}

} // namespace maso::kernels
