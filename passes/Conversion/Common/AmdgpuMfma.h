//===- AmdgpuMfma.h - one MFMA tile, for the AMD emitters -------*- C++ -*-===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_AMDGPUMFMA_H
#define ATTN_PASSES_CONVERSION_COMMON_AMDGPUMFMA_H

#include "mlir/Dialect/AMDGPU/IR/AMDGPUDialect.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn {

/// amdgpu.mfma of shape 16x16xk on wave64 with 4 f32 accumulators per lane
/// (`acc`, a vector<4xf32>): k = 16 for vector<4xf16> / vector<4xbf16>
/// operands, 4 for f32 ones.
inline Value amdgpuMfma16x16(ImplicitLocOpBuilder &b, int64_t k, Value a,
                             Value bFrag, Value acc) {
  auto i32 = [&](int64_t v) { return b.getI32IntegerAttr(v); };
  return amdgpu::MFMAOp::create(b, acc.getType(), i32(16), i32(16), i32(k),
                                i32(1), a, bFrag, acc, i32(0), i32(0))
      .getResult();
}

/// The 4 f32 elements of an accumulator vector, and back.
inline SmallVector<Value> mfmaElements(ImplicitLocOpBuilder &b, Value acc) {
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(vector::ExtractOp::create(b, acc, ArrayRef<int64_t>{i}));
  return out;
}
inline Value mfmaAccumulator(ImplicitLocOpBuilder &b, ArrayRef<Value> c) {
  return vector::FromElementsOp::create(
      b, VectorType::get({4}, b.getF32Type()), c);
}

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_AMDGPUMFMA_H
