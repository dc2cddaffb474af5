//===- LinearGpuMfma.cpp - linear-attention MFMA operands -----------------===//
//
// The AMD half of the linear-attention kernel's tensor-core products
// (LinearGpuMma.cpp holds the tiles, the loops and the stores): MFMA
// 16x16x16 with bf16 operands on wave64. Lane l, c = l % 16, g = l / 16,
// holds A[c][4g..4g+3] and B[4g..4g+3][c] as vector<4xbf16>, and D[4g+i][c]
// in element i of its 4 f32. There is no ldmatrix: a staged buffer that
// stores the operand's k dimension contiguously gives each lane its four
// elements in one 8-byte LDS read (rows of linearGpuLdmStride elements, a
// multiple of 8, so every read is 8-byte aligned); one that stores its
// transpose gives them in four 2-byte reads.
//
//===----------------------------------------------------------------------===//

#include "Common/AmdgpuMfma.h"
#include "Common/LinearGpuEmitter.h"

#include "mlir/Dialect/Vector/IR/VectorOps.h"

using namespace mlir;
using namespace mlir::attn;

SmallVector<Value> LinearGpuKernelEmitter::mfmaTile(Value a, Value bFrag,
                                                    ArrayRef<Value> c) {
  return mfmaElements(
      b, amdgpuMfma16x16(b, 16, a, bFrag, mfmaAccumulator(b, c)));
}

Value LinearGpuKernelEmitter::mfmaOperand(Value buf, Value m, Value k0,
                                          bool kMajor) {
  Type bf16 = b.getBF16Type();
  auto type = VectorType::get({4}, bf16);
  Value k = add(k0, mul(mfmaG, idx(4)));
  if (!kMajor)
    return vector::LoadOp::create(b, type, buf, ValueRange{m, k},
                                  /*nontemporal=*/false, llvm::Align(8));
  SmallVector<Value, 4> elements;
  for (int64_t i = 0; i < 4; ++i)
    elements.push_back(load(buf, {add(k, idx(i)), m}));
  return vector::FromElementsOp::create(b, type, elements);
}

LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::mfmaMatrixA(Value buf, Value r0, Value k0,
                                    bool kMajor) {
  Fragments f;
  f.hi.push_back(mfmaOperand(buf, add(r0, mfmaC), k0, kMajor));
  return f;
}

LinearGpuKernelEmitter::Fragments
LinearGpuKernelEmitter::mfmaMatrixB(Value buf, Value c0, int64_t blocks,
                                    Value k0, bool kMajor) {
  Fragments f;
  for (int64_t j = 0; j < blocks; ++j)
    f.hi.push_back(
        mfmaOperand(buf, add(c0, add(mfmaC, idx(16 * j))), k0, kMajor));
  return f;
}
