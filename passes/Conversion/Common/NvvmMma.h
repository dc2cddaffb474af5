//===- NvvmMma.h - one mma.sync tile, for the NVIDIA emitters --*- C++ -*-===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_NVVMMMA_H
#define ATTN_PASSES_CONVERSION_COMMON_NVVMMMA_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/ImplicitLocOpBuilder.h"

namespace mlir::attn {

/// c + a b on one mma.sync m16n8k16 row.col tile with f16 or bf16 operands
/// (4 A and 2 B registers per lane) and 4 f32 accumulators per lane.
/// nvvm.mma.sync directly: nvgpu.mma.sync cannot deduce bf16 PTX types from
/// the i32 registers bf16 pairs travel in.
inline SmallVector<Value> nvvmMmaM16N8K16(ImplicitLocOpBuilder &b,
                                          NVVM::MMATypes type,
                                          ArrayRef<Value> a,
                                          ArrayRef<Value> bFrag,
                                          ArrayRef<Value> c) {
  Type f32 = b.getF32Type();
  auto op = NVVM::MmaOp::create(
      b, LLVM::LLVMStructType::getLiteral(b.getContext(),
                                          SmallVector<Type>(4, f32)),
      a, bFrag, c, ArrayRef<int64_t>{16, 8, 16}, /*b1Op=*/std::nullopt,
      /*intOverflow=*/std::nullopt, std::array<NVVM::MMATypes, 2>{type, type},
      std::array<NVVM::MMALayout, 2>{NVVM::MMALayout::row,
                                     NVVM::MMALayout::col});
  SmallVector<Value> out;
  for (int64_t i = 0; i < 4; ++i)
    out.push_back(LLVM::ExtractValueOp::create(b, op.getResult(), i));
  return out;
}

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_NVVMMMA_H
