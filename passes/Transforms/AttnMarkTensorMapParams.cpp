//===- AttnMarkTensorMapParams.cpp - TMA descriptors by value -------------===//
//
// A CUtensorMap must live in constant, parameter or global memory for
// cp.async.bulk.tensor. Passing it as a kernel parameter (CUDA's
// `__grid_constant__`) keeps the bundle free of device allocations: the
// runtime encodes the maps on the host and copies them into the launch.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNMARKTENSORMAPPARAMS
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {

constexpr int64_t kTensorMapBytes = 128, kTensorMapAlign = 64;

struct AttnMarkTensorMapParamsPass
    : mlir::attn::impl::AttnMarkTensorMapParamsBase<
          AttnMarkTensorMapParamsPass> {
  void runOnOperation() override {
    WalkResult result = getOperation().walk([&](LLVM::LLVMFuncOp fn) {
      auto count = fn->getAttrOfType<IntegerAttr>(attn::kTensorMapParamsAttr);
      if (!count)
        return WalkResult::advance();
      int64_t n = count.getInt();
      unsigned numArgs = fn.getNumArguments();
      if (n < 0 || n > numArgs || fn.isExternal()) {
        fn.emitError() << attn::kTensorMapParamsAttr << " = " << n
                       << " does not fit a kernel with " << numArgs
                       << " parameters";
        return WalkResult::interrupt();
      }
      MLIRContext *ctx = fn.getContext();
      Builder b(ctx);
      auto map = LLVM::LLVMArrayType::get(IntegerType::get(ctx, 8),
                                          kTensorMapBytes);
      for (unsigned i = numArgs - n; i < numArgs; ++i) {
        if (!isa<LLVM::LLVMPointerType>(fn.getArgument(i).getType())) {
          fn.emitError() << "tensor-map parameter " << i
                         << " is not a pointer";
          return WalkResult::interrupt();
        }
        fn.setArgAttr(i, LLVM::LLVMDialect::getAlignAttrName(),
                      b.getI64IntegerAttr(kTensorMapAlign));
        fn.setArgAttr(i, LLVM::LLVMDialect::getByValAttrName(),
                      TypeAttr::get(map));
        fn.setArgAttr(i, NVVM::NVVMDialect::getGridConstantAttrName(),
                      b.getUnitAttr());
      }
      fn->removeAttr(attn::kTensorMapParamsAttr);
      return WalkResult::advance();
    });
    if (result.wasInterrupted())
      signalPassFailure();
  }
};

} // namespace
