// The wgmma operands of the sm_90a kernel address exactly the elements the
// core-matrix copies put there, by the PTX ISA canonical layouts.
#include "attn/Target/WgmmaLayout.h"

#include <gtest/gtest.h>

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

} // namespace
