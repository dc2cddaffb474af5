//===- WgmmaLayout.h - shared-memory operands of wgmma ----------*- C++ -*-===//
//
// The sm_90a kernel keeps Q, K, V and P tiles in the no-swizzle core-matrix
// layout: 8x8 blocks of 16-bit elements, 128 contiguous bytes each (one
// 16-byte row per 8 elements), blocks row-group major. A wgmma operand is
// described by a start address and two strides (PTX ISA, "Matrix
// Descriptor" and the canonical layouts of "Shared Memory Matrix Layout"):
//   K-major,  no swizzle: ((8,m),(T,2k)):((1T,SBO),(1,LBO))
//   MN-major, no swizzle: ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO))
// with T = 8 elements (16 bytes). These functions give the operand of one
// k16 step of a tile; the unit tests check them against the canonical
// layouts element by element.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_WGMMALAYOUT_H
#define ATTN_TARGET_WGMMALAYOUT_H

#include <cstdint>

namespace mlir::attn::wgmma {

/// Element offset of (row, col) in a core-matrix tile of `cols` columns.
inline int64_t coreMatrixOffset(int64_t row, int64_t col, int64_t cols) {
  return ((row / 8) * (cols / 8) + col / 8) * 64 + (row % 8) * 8 + col % 8;
}

/// Start (in elements from the tile base) and strides (in bytes) of one
/// wgmma operand.
struct Operand {
  int64_t start, lboBytes, sboBytes;
};

/// K-major operand (A = Q or P, B = K) of a tile [rows][cols] with K along
/// the columns: rows [rowBase, rowBase + M/N), columns [16 kk, 16 kk + 16).
inline Operand kMajor(int64_t rowBase, int64_t cols, int64_t kk) {
  return {coreMatrixOffset(rowBase, 16 * kk, cols), /*lbo=*/128,
          /*sbo=*/cols / 8 * 128};
}

/// MN-major operand (B = V, transposed) of a tile [K rows][cols] with N
/// along the columns: rows [16 kk, 16 kk + 16), all columns.
inline Operand mnMajor(int64_t cols, int64_t kk) {
  return {coreMatrixOffset(16 * kk, 0, cols), /*lbo=*/cols / 8 * 128,
          /*sbo=*/128};
}

/// Where the hardware reads element (mn, k) of `op` (elements from the tile
/// base), by the canonical layouts above.
inline int64_t canonicalKMajor(const Operand &op, int64_t mn, int64_t k) {
  return op.start + (mn % 8) * 8 + (mn / 8) * (op.sboBytes / 2) + k % 8 +
         (k / 8) * (op.lboBytes / 2);
}
inline int64_t canonicalMNMajor(const Operand &op, int64_t mn, int64_t k) {
  return op.start + mn % 8 + (mn / 8) * (op.sboBytes / 2) + (k % 8) * 8 +
         (k / 8) * (op.lboBytes / 2);
}

} // namespace mlir::attn::wgmma

#endif // ATTN_TARGET_WGMMALAYOUT_H
