//===- AttnROCDLToHost.cpp - ROCDL kernels as host code for amdemu --------===//
//
// The AMD counterpart of attn-nvvm-to-host: without an AMD GPU nothing would
// run the AMD kernels' own code (wave64 fragment layouts of the MFMAs, LDS
// staging, cross-lane reductions). This pass keeps all of that and replaces
// only the ROCDL operations by calls into the emulator (tools/nvemu, wave64
// mode), whose semantics come from the CDNA3 ISA, not from this project's
// lowering.
//
//===----------------------------------------------------------------------===//

#include "HostEmulation.h"

#include "attn/Passes.h"

#include "mlir/Dialect/LLVMIR/ROCDLDialect.h"
#include "mlir/IR/Matchers.h"

#include "nvemu.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNROCDLTOHOST
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

class Rewriter : public HostEmulationRewriter {
public:
  explicit Rewriter(ModuleOp module)
      : HostEmulationRewriter(module, "amdemu", "attn-to-rocdl",
                              "AMDGPU assembly", "llvm.amdgcn.", "__amdemu") {}

private:
  bool isDeviceOp(Operation *op) override {
    return isa<ROCDL::ROCDLDialect>(op->getDialect());
  }
  LogicalResult rewrite(Operation *op) override;
  void placeSharedMemory() override;
  bool isKernel(LLVM::LLVMFuncOp fn) override {
    return fn->hasAttr("rocdl.kernel") || fn->hasAttr("gpu.kernel");
  }
  ArrayRef<StringRef> attributePrefixes() override {
    static const StringRef prefixes[] = {"rocdl.", "gpu."};
    return prefixes;
  }
  LogicalResult rewriteMfma(Operation *op, int32_t kind);
};

/// Every LDS global lies in the emulated work-group's LDS, in order, each
/// at its alignment; `__amdemu_lds_bytes` records their total, which the
/// emulating HIP runtime adds to a launch's dynamic LDS (placed after them,
/// as on the GPU).
void Rewriter::placeSharedMemory() {
  SmallVector<std::pair<LLVM::GlobalOp, int64_t>> lds;
  int64_t total = 0;
  SmallVector<LLVM::GlobalOp> dynamic;
  for (auto g : module.getOps<LLVM::GlobalOp>()) {
    if (g.getAddrSpace() != 3)
      continue;
    auto arr = dyn_cast<LLVM::LLVMArrayType>(g.getGlobalType());
    if (arr && arr.getNumElements() == 0) {
      dynamic.push_back(g);
      continue;
    }
    int64_t align = std::max<int64_t>(g.getAlignment().value_or(16), 16);
    total = llvm::alignTo(total, align);
    lds.push_back({g, total});
    total += static_cast<int64_t>(
        DataLayout::closest(g).getTypeSize(g.getGlobalType()));
  }
  total = llvm::alignTo(total, 16);
  auto at = [&](Location loc, int64_t offset) -> Value {
    Value base = call(loc, "__nvemu_dynamic_smem", ptr, {});
    return LLVM::GEPOp::create(b, loc, ptr, b.getI8Type(), base,
                               ArrayRef<LLVM::GEPArg>{
                                   static_cast<int32_t>(offset)});
  };
  for (auto [g, offset] : lds) {
    int64_t off = offset;
    replaceAddressOf(g, [&](Location loc) { return at(loc, off); });
    g.erase();
  }
  for (LLVM::GlobalOp g : dynamic) {
    replaceAddressOf(g, [&](Location loc) { return at(loc, total); });
    g.erase();
  }
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  LLVM::GlobalOp::create(b, module.getLoc(), i32, /*isConstant=*/true,
                         LLVM::Linkage::External, "__amdemu_lds_bytes",
                         b.getI32IntegerAttr(static_cast<int32_t>(total)));
}

LogicalResult Rewriter::rewriteMfma(Operation *op, int32_t kind) {
  // Operands: a, b, c, then the cbsz, abid and blgp modifiers (broadcasts
  // across blocks), which the kernels leave at 0.
  for (unsigned i = 3; i < 6; ++i)
    if (!matchPattern(op->getOperand(i), m_Zero()))
      return op->emitError("amdemu emulates MFMAs without cbsz / abid / "
                           "blgp broadcasts only");
  Location loc = op->getLoc();
  Type i64 = b.getI64Type();
  // The lane's operand bits in an i64 (an f32 in the low half).
  auto bits = [&](Value v) -> Value {
    if (!v.getType().isF32())
      return LLVM::BitcastOp::create(b, loc, i64, v);
    return LLVM::ZExtOp::create(
        b, loc, i64, LLVM::BitcastOp::create(b, loc, b.getI32Type(), v));
  };
  Value a = bits(op->getOperand(0));
  Value bv = bits(op->getOperand(1));
  Value c = scratch(op, b.getF32Type(), 4);
  Value d = scratch(op, b.getF32Type(), 4);
  LLVM::StoreOp::create(b, loc, op->getOperand(2), c);
  call(loc, "__amdemu_mfma", {}, {i32Const(loc, kind), a, bv, c, d});
  op->getResult(0).replaceAllUsesWith(
      LLVM::LoadOp::create(b, loc, op->getResult(0).getType(), d));
  return success();
}

LogicalResult Rewriter::rewrite(Operation *op) {
  Location loc = op->getLoc();
  StringRef name = op->getName().getStringRef();
  auto sreg = [&](int code) {
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__nvemu_sreg", i32, {i32Const(loc, code)}));
  };
  LogicalResult done = success();
  if (name.consume_front("rocdl.workitem.id.")) {
    sreg(NVEMU_TID_X + (name[0] - 'x'));
  } else if (name.consume_front("rocdl.workgroup.id.")) {
    sreg(NVEMU_CTAID_X + (name[0] - 'x'));
  } else if (name.consume_front("rocdl.workgroup.dim.")) {
    sreg(NVEMU_NTID_X + (name[0] - 'x'));
  } else if (name.consume_front("rocdl.grid.dim.")) {
    sreg(NVEMU_NCTAID_X + (name[0] - 'x'));
  } else if (name == "rocdl.barrier" || name == "rocdl.s.barrier") {
    call(loc, "__nvemu_barrier", {}, {i32Const(loc, 0), i32Const(loc, -1)});
  } else if (name == "rocdl.mbcnt.lo" || name == "rocdl.mbcnt.hi") {
    op->getResult(0).replaceAllUsesWith(call(
        loc, "__amdemu_mbcnt", i32,
        {i32Const(loc, name.ends_with("hi")), op->getOperand(0),
         op->getOperand(1)}));
  } else if (name == "rocdl.ds_bpermute") {
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__amdemu_bpermute", i32,
             {op->getOperand(0), asI32(loc, op->getOperand(1))}));
  } else if (name == "rocdl.ds_swizzle") {
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__amdemu_swizzle", i32,
             {asI32(loc, op->getOperand(0)), op->getOperand(1)}));
  } else if (name == "rocdl.exp2") {
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__amdemu_exp2", b.getF32Type(), op->getOperands()));
  } else if (name == "rocdl.mfma.f32.16x16x16f16") {
    done = rewriteMfma(op, AMDEMU_MFMA_F16);
  } else if (name == "rocdl.mfma.f32.16x16x16bf16.1k") {
    done = rewriteMfma(op, AMDEMU_MFMA_BF16);
  } else if (name == "rocdl.mfma.f32.16x16x4f32") {
    done = rewriteMfma(op, AMDEMU_MFMA_F32);
  } else if (name == "rocdl.s.waitcnt" || name == "rocdl.sched.barrier" ||
             name == "rocdl.s.setprio") {
    // Ordering and scheduling hints: the emulator completes each access
    // when it is issued.
  } else {
    return op->emitError("amdemu does not emulate ") << op->getName();
  }
  if (failed(done))
    return failure();
  op->erase();
  return success();
}

struct AttnROCDLToHostPass
    : mlir::attn::impl::AttnROCDLToHostBase<AttnROCDLToHostPass> {
  void runOnOperation() override {
    if (failed(Rewriter(getOperation()).run()))
      signalPassFailure();
  }
};

} // namespace
