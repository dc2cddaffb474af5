//===- WgmmaLayout.h - shared-memory operands of wgmma ----------*- C++ -*-===//
//
// The sm_90a kernel keeps Q, K and V tiles in the no-swizzle core-matrix
// layout: 8x8 blocks of 16-bit elements, 128 contiguous bytes each (one
// 16-byte row per 8 elements), blocks row-group major. A wgmma operand is
// described by a start address and two strides (PTX ISA, "Matrix
// Descriptor" and the canonical layouts of "Shared Memory Matrix Layout"):
//   K-major,  no swizzle: ((8,m),(T,2k)):((1T,SBO),(1,LBO))
//   MN-major, no swizzle: ((T,1,m),(8,k)):((1,T,SBO),(1T,LBO))
// with T = 8 elements (16 bytes). When TMA loads the tiles (in boxes of 64
// columns), Q, K and V use the 128-byte swizzle instead:
//   K-major,  128B: ((8,m),(T,2k)):((8T,SBO),(1,T))
//   MN-major, 128B: ((T,8,m),(8,k)):((1,T,LBO),(8T,SBO))
// composed with Swizzle<3,4,3> on the byte address (bits 4-6 ^= bits 7-9),
// the pattern TMA writes with CU_TENSOR_MAP_SWIZZLE_128B. These functions
// give the operand of one k16 step of a tile; the unit tests check them
// against the canonical layouts element by element.
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

/// Matrix-descriptor swizzle mode (bits 62-63 of the descriptor).
enum class Swizzle : int64_t { None = 0, B128 = 1 };

/// Start (in elements from the tile base) and strides (in bytes) of one
/// wgmma operand.
struct Operand {
  int64_t start, lboBytes, sboBytes;
  Swizzle swizzle = Swizzle::None;
};

/// K-major operand (A = Q, B = K) of a tile [rows][cols] with K along
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

//===--- 128-byte swizzle (TMA-loaded tiles) ------------------------------===//

/// Swizzle<3,4,3> of a byte offset from a 1024-byte aligned base: the
/// 16-byte chunk within a 128-byte row is XORed with the row within the
/// 8-row (1024-byte) atom.
inline int64_t swizzle128(int64_t byteOffset) {
  return byteOffset ^ (((byteOffset >> 7) & 7) << 4);
}

/// Byte offset where TMA (CU_TENSOR_MAP_SWIZZLE_128B) puts element
/// (row, col) of a 16-bit tile of `rows` rows loaded as boxes of 64 columns,
/// one after another: box c holds columns [64c, 64c + 64) as `rows` rows of
/// 128 bytes. `rows` % 8 == 0 keeps every box 1024-byte aligned.
inline int64_t tmaSw128Offset(int64_t row, int64_t col, int64_t rows) {
  return swizzle128((col / 64) * rows * 128 + row * 128 + (col % 64) * 2);
}

/// K-major operand (Q, K) of a TMA tile of `rows` rows: rows [rowBase,
/// rowBase + M/N), columns [16 kk, 16 kk + 16). Within a 64-column box a k16
/// step starts 32 bytes further; LBO is unused (encoded as 1).
inline Operand kMajorSw128(int64_t rowBase, int64_t rows, int64_t kk) {
  int64_t col = 16 * kk;
  return {(col / 64) * rows * 64 + rowBase * 64 + col % 64, /*lbo=*/16,
          /*sbo=*/1024, Swizzle::B128};
}

/// MN-major operand (V, transposed B) of a TMA tile of `rows` K rows: rows
/// [16 kk, 16 kk + 16), all columns; LBO steps over the 64-column boxes.
inline Operand mnMajorSw128(int64_t rows, int64_t kk) {
  return {16 * kk * 64, /*lbo=*/rows * 128, /*sbo=*/1024, Swizzle::B128};
}

/// Byte offset the hardware reads for element (mn, k) of a 128-byte
/// swizzled operand, by the canonical layouts above.
inline int64_t canonicalKMajorSw128(const Operand &op, int64_t mn,
                                    int64_t k) {
  return swizzle128(2 * op.start + (mn % 8) * 128 + (mn / 8) * op.sboBytes +
                    (k % 8) * 2 + (k / 8) * 16);
}
inline int64_t canonicalMNMajorSw128(const Operand &op, int64_t mn,
                                     int64_t k) {
  return swizzle128(2 * op.start + (mn % 8) * 2 + (mn / 8 % 8) * 16 +
                    (mn / 64) * op.lboBytes + (k % 8) * 128 +
                    (k / 8) * op.sboBytes);
}

} // namespace mlir::attn::wgmma

#endif // ATTN_TARGET_WGMMALAYOUT_H
