// The wgmma operands of the sm_90a kernel address exactly the elements the
// core-matrix copies put there, by the PTX ISA canonical layouts.
#include "attn/Target/WgmmaLayout.h"

#include <gtest/gtest.h>

#include <vector>

using namespace mlir::attn::wgmma;

namespace {

TEST(WgmmaLayout, CoreMatricesAre128ContiguousBytes) {
  // Row r of a core matrix is 16 bytes at r * 16; the next core matrix along
  // the columns starts 128 bytes later, the next row group after all of them.
  EXPECT_EQ(coreMatrixOffset(0, 0, 64), 0);
  EXPECT_EQ(coreMatrixOffset(1, 0, 64), 8);
  EXPECT_EQ(coreMatrixOffset(0, 7, 64), 7);
  EXPECT_EQ(coreMatrixOffset(0, 8, 64), 64);
  EXPECT_EQ(coreMatrixOffset(8, 0, 64), 8 * 64);
}

TEST(WgmmaLayout, KMajorOperandsMatchTheTile) {
  // Q [128][dqk] (A, two warpgroups of 64 rows) and K [bk][dqk] (B, N = bk).
  for (int64_t cols : {16, 32, 64, 128, 256})
    for (int64_t rowBase : {0, 64})
      for (int64_t kk = 0; kk < cols / 16; ++kk) {
        Operand op = kMajor(rowBase, cols, kk);
        for (int64_t mn = 0; mn < 64; ++mn)
          for (int64_t k = 0; k < 16; ++k)
            ASSERT_EQ(canonicalKMajor(op, mn, k),
                      coreMatrixOffset(rowBase + mn, 16 * kk + k, cols))
                << "cols " << cols << " row " << rowBase + mn << " k "
                << 16 * kk + k;
      }
}

TEST(WgmmaLayout, MNMajorOperandMatchesTheVTile) {
  // V [bk][dv chunk]: K = KV rows, N = columns.
  for (int64_t cols : {8, 24, 64, 96, 128})
    for (int64_t kk = 0; kk < 4; ++kk) {
      Operand op = mnMajor(cols, kk);
      for (int64_t n = 0; n < cols; ++n)
        for (int64_t k = 0; k < 16; ++k)
          ASSERT_EQ(canonicalMNMajor(op, n, k),
                    coreMatrixOffset(16 * kk + k, n, cols))
              << "cols " << cols << " n " << n << " k " << 16 * kk + k;
    }
}

TEST(WgmmaLayout, StridesFitTheDescriptorFields) {
  // LBO / SBO are 14-bit fields in units of 16 bytes.
  Operand q = kMajor(64, 256, 15), v = mnMajor(128, 3);
  for (int64_t bytes : {q.lboBytes, q.sboBytes, v.lboBytes, v.sboBytes}) {
    EXPECT_EQ(bytes % 16, 0);
    EXPECT_LT(bytes / 16, 1 << 14);
  }
}

TEST(WgmmaLayout, Swizzle128PermutesEachAtom) {
  // The swizzle only moves 16-byte chunks within their 128-byte row, so a
  // 1024-byte atom maps onto itself one to one.
  std::vector<bool> seen(1024, false);
  for (int64_t off = 0; off < 1024; off += 2) {
    int64_t s = swizzle128(off);
    ASSERT_EQ(s / 128, off / 128);
    ASSERT_EQ(s % 16, off % 16);
    ASSERT_FALSE(seen[s]);
    seen[s] = true;
  }
  EXPECT_EQ(swizzle128(128 + 0), 128 + 16); // row 1, chunk 0 -> chunk 1
  EXPECT_EQ(swizzle128(7 * 128 + 7 * 16), 7 * 128); // row 7, chunk 7 -> 0
}

TEST(WgmmaLayout, KMajorSw128OperandsMatchTheTmaBoxes) {
  // Q [128][dqk] (A, two warpgroups of 64 rows) and K [bk][dqk] (B, N = bk)
  // as TMA writes them: boxes of 64 columns, 128-byte swizzle.
  for (int64_t rows : {64, 128, 256})
    for (int64_t cols : {64, 128, 256})
      for (int64_t rowBase = 0; rowBase < rows; rowBase += 64)
        for (int64_t kk = 0; kk < cols / 16; ++kk) {
          Operand op = kMajorSw128(rowBase, rows, kk);
          for (int64_t mn = 0; mn < 64; ++mn)
            for (int64_t k = 0; k < 16; ++k)
              ASSERT_EQ(canonicalKMajorSw128(op, mn, k),
                        tmaSw128Offset(rowBase + mn, 16 * kk + k, rows))
                  << "rows " << rows << " cols " << cols << " row "
                  << rowBase + mn << " k " << 16 * kk + k;
        }
}

TEST(WgmmaLayout, MNMajorSw128OperandMatchesTheTmaVTile) {
  // V [bk][dv chunk] from TMA: K = KV rows, N = columns over several boxes.
  for (int64_t rows : {16, 32, 64, 128, 256})
    for (int64_t cols : {64, 128})
      for (int64_t kk = 0; kk < rows / 16; ++kk) {
        Operand op = mnMajorSw128(rows, kk);
        for (int64_t n = 0; n < cols; ++n)
          for (int64_t k = 0; k < 16; ++k)
            ASSERT_EQ(canonicalMNMajorSw128(op, n, k),
                      tmaSw128Offset(16 * kk + k, n, rows))
                << "rows " << rows << " cols " << cols << " n " << n
                << " k " << 16 * kk + k;
      }
}

TEST(WgmmaLayout, Sw128StartsStayInTheirAtomRow) {
  // The descriptor's base-offset field stays 0 only if a k16 step's start
  // address keeps bits 7-9 (the row in the atom) of its 1024-byte atom:
  // K-major steps move 32 bytes inside a 128-byte row, MN-major steps move
  // whole atoms.
  for (int64_t kk = 0; kk < 16; ++kk) {
    Operand k = kMajorSw128(64, 128, kk), v = mnMajorSw128(256, kk);
    EXPECT_EQ((2 * k.start) % 128, (32 * kk) % 128);
    EXPECT_EQ((2 * v.start) % 1024, 0);
    for (int64_t bytes : {k.sboBytes, v.sboBytes, v.lboBytes}) {
      EXPECT_EQ(bytes % 16, 0);
      EXPECT_LT(bytes / 16, 1 << 14);
    }
  }
}

} // namespace
