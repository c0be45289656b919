// maso/kernels/gemm/concepts.hpp — what a product asks of its B operand, of a reader of
// B panels, and of an epilogue.
//
//   b_source<S, Arch, T>        S::pack<Arch, NR>(dst, pc, jc, kc, nc) packs the kc×nc block of
//                               B at (pc, jc) into NR-wide aligned panels (matrix_b;
//                               kernels/conv/: patch_rows, patch_columns)
//   in_place_source<S, …>       … and S::direct<Arch, Blocking>(pc, j0, n) returns a reader of
//                               that panel where it lies, or nothing (std::optional)
//   panel_reader<R, Arch, T>    the micro-kernel's view of one panel: prefetch(), load(v),
//                               next(), finish(acc) (packed_panel; conv's patch_reader)
//   tile_epilogue<E, Arch, T>   e(acc, i0, j0, m, n) on a finished MR×NV tile of batches
#pragma once

#include <maso/kernels/gemm/blocking.hpp>
#include <maso/kernels/gemm/micro_kernel.hpp>

#include <concepts>
#include <cstddef>
#include <optional>
#include <utility>

namespace maso::kernels {

/// The batches of one register tile of C for (Arch, T).
template <class Arch, class T>
using tile_of = xsimd::batch<T, Arch>[gemm_blocking<Arch, T>::MR][gemm_blocking<Arch, T>::NV];

template <class S, class Arch, class T>
concept b_source = requires(const S& s, T* dst, std::size_t i) {
    s.template pack<Arch, gemm_blocking<Arch, T>::NR>(dst, i, i, i, i);
};

template <class R, class Arch, class T>
concept panel_reader = requires(R r, const R& cr, std::size_t v, tile_of<Arch, T>& acc) {
    cr.prefetch();
    { cr.load(v) } -> std::same_as<xsimd::batch<T, Arch>>;
    r.next();
    cr.finish(acc);
};

template <class E, class Arch, class T>
concept tile_epilogue = requires(E e, std::size_t i, tile_of<Arch, T>& acc) {
    e(acc, i, i, i, i);
};

namespace detail {

/// A B source whose panels the micro-kernel may read in place: besides `pack`, it
/// has `direct<Arch, Blocking>(pc, j0, n)`, which returns a reader of the kc×n panel
/// at (pc, j0) — std::optional, empty where the panel has to be packed.
template <class BSource, class Arch, class Blocking>
concept has_in_place = requires(const BSource& b) {
    b.template direct<Arch, Blocking>(std::size_t{}, std::size_t{}, std::size_t{});
};
template <class BSource, class Arch, class Blocking, class T>
struct in_place_reader {
    using type = packed_panel<Arch, Blocking, T>; // a placeholder: no panel is in place
};
template <class BSource, class Arch, class Blocking, class T>
requires has_in_place<BSource, Arch, Blocking>
struct in_place_reader<BSource, Arch, Blocking, T> {
    using type = typename decltype(std::declval<const BSource&>().template direct<Arch, Blocking>(
        std::size_t{}, std::size_t{}, std::size_t{}))::value_type;
};

} // namespace detail

/// A B source whose panels the micro-kernel may read in place (detail::has_in_place).
template <class S, class Arch, class T>
concept in_place_source =
    b_source<S, Arch, T> && detail::has_in_place<S, Arch, gemm_blocking<Arch, T>>;

} // namespace maso::kernels
