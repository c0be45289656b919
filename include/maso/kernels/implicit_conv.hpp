// maso/kernels/implicit_conv.hpp — a convolution's operands for kernels/gemm.hpp, never
// materialised: implicit GEMM.
//
// As im2col (kernels/im2col.hpp) a convolution is Z = W · cols, dW += dZ · colsᵀ and
// dx = col2im(Wᵀ · dZ), with cols[tap][column] = x at the tap's offset from the
// column's output pixel (0 in the padding). cols has Cin·K·K times as many entries
// as x — 113 MB for a 96-channel 32×32 map at batch 32 — so instead of writing it
// and reading it back, the products gather it straight from x into their packed
// panels, the only form in which they ever read an operand:
//
//   patch_rows      B of Z = W · cols (nn): a panel row is one tap over NR columns
//   patch_columns   B of dW = dZ · colsᵀ (nt): a panel row is one column over NR taps
//   patch_scatter   the epilogue of dcols = Wᵀ · dZ (tn): each finished tile is added
//                   into dx where col2im would put it, so dcols is never stored either
//
// Column order. Which output pixel a column of Z stands for is free — Z is internal
// to a fused group — and `patch_order` chooses it: `natural`, column = (n·Ho + oy)·Wo
// + ox, maso's channel-major layout; or `windows(k, L)`, which lays the k×k pooling
// windows across a GEMM tile: L consecutive windows (in the pooled map's natural
// order) make a group of k²·L columns, member r = (dy, dx) of window l at column
// r·L + l. With k²·L = NR (2×2 windows and 16 float lanes on AVX-512) a tile of C
// holds, per row, k² batches whose lanes are the members r of the same L windows,
// and pooling is lane-wise across them, in registers (run/program.hpp). When the
// window count is not a multiple of L the last group is padded with columns that
// read 0 and are never scattered.
//
// Every gather runs along a "run": columns whose pixels lie on one output row at a
// fixed step (1 in natural order, k in window order), so that its input entries are
// equally spaced in one row of x. The packers read x zero-padded (pad_input, one
// pass into the layer's scratch): a run then never needs clipping, and packing a
// panel row is a few masked loads — the B operand of a convolution is used by only
// Cout rows of W, so the packing's cost per element is what decides its speed.
//
// One header per piece, in kernels/conv/: padding.hpp (pad_input, unpad_output),
// patch_runs.hpp (the runs a block of columns reads), patch_rows.hpp, patch_columns.hpp,
// patch_scatter.hpp and transposed.hpp (dx at stride 1 as a convolution). Their interfaces
// are kernels/gemm/concepts.hpp's: b_source, in_place_source, panel_reader, tile_epilogue.
#pragma once

#include <maso/kernels/conv/padding.hpp>
#include <maso/kernels/conv/patch_columns.hpp>
#include <maso/kernels/conv/patch_rows.hpp>
#include <maso/kernels/conv/patch_runs.hpp>
#include <maso/kernels/conv/patch_scatter.hpp>
#include <maso/kernels/conv/transposed.hpp>
