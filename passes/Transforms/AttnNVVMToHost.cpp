//===- AttnNVVMToHost.cpp - NVVM kernels as host code for nvemu -----------===//
//
// Without a GPU nothing would ever execute the NVIDIA kernels' own code: the
// CPU target runs the same tile program, but not the fragment layouts,
// ldmatrix addressing, shared-memory staging or cp.async pipelining that
// the NVIDIA lowering adds. This pass keeps all of that and replaces only
// the NVVM operations by calls into the emulator (tools/nvemu), whose
// semantics come from the PTX ISA, not from this project's lowering.
//
//===----------------------------------------------------------------------===//

#include "HostEmulation.h"

#include "attn/Passes.h"
#include "attn/Target/OpaqueCopy.h"
#include "attn/Target/TargetInfo.h"
#include "attn/Target/WgmmaAsm.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/LLVMIR/NVVMDialect.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNNVVMTOHOST
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;
using namespace mlir::attn;

namespace {

/// Special registers by the code the emulator's __nvemu_sreg takes.
int sregCode(StringRef name) {
  static const llvm::StringMap<int> codes = {
      {"tid.x", 0},    {"tid.y", 1},    {"tid.z", 2},      {"ntid.x", 3},
      {"ntid.y", 4},   {"ntid.z", 5},   {"ctaid.x", 6},    {"ctaid.y", 7},
      {"ctaid.z", 8},  {"nctaid.x", 9}, {"nctaid.y", 10},  {"nctaid.z", 11},
      {"laneid", 12},  {"warpid", 13},  {"warpsize", 14}};
  auto it = codes.find(name);
  return it == codes.end() ? -1 : it->second;
}

class Rewriter : public HostEmulationRewriter {
public:
  explicit Rewriter(ModuleOp module)
      : HostEmulationRewriter(module, "nvemu", "attn-to-nvvm", "PTX",
                              "llvm.nvvm.", "__nvemu") {}

private:
  bool isDeviceOp(Operation *op) override {
    // Inline PTX (the kernels' wgmma with A in registers) runs here too,
    // and the NVVM intrinsics the kernels call.
    if (auto intr = dyn_cast<LLVM::CallIntrinsicOp>(op))
      return intr.getIntrin() == kNvvmEx2ApproxFtz;
    return isa<NVVM::NVVMDialect>(op->getDialect()) ||
           isa<LLVM::InlineAsmOp>(op);
  }
  LogicalResult rewrite(Operation *op) override;
  void placeSharedMemory() override;
  bool isKernel(LLVM::LLVMFuncOp fn) override {
    return fn->hasAttr("nvvm.kernel") || fn->hasAttr("gpu.kernel");
  }
  ArrayRef<StringRef> attributePrefixes() override {
    static const StringRef prefixes[] = {"nvvm.", "gpu."};
    return prefixes;
  }

  LogicalResult rewriteMma(NVVM::MmaOp op);
  LogicalResult rewriteLdMatrix(NVVM::LdMatrixOp op);
  LogicalResult rewriteShfl(NVVM::ShflOp op);
  LogicalResult rewriteWgmma(NVVM::WgmmaMmaAsyncOp op);
  LogicalResult rewriteInlinePtx(LLVM::InlineAsmOp op);
  LogicalResult rewriteTma(NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp op);
};

void Rewriter::placeSharedMemory() {
  // Dynamic shared memory is the emulated CTA's buffer. Static shared
  // memory becomes one host global, which is right as the emulator runs
  // one CTA at a time (unlike the dynamic buffer, it is not reset to NaN
  // bytes between CTAs).
  SmallVector<LLVM::GlobalOp> dynamicSmem;
  for (auto g : module.getOps<LLVM::GlobalOp>()) {
    auto arr = dyn_cast<LLVM::LLVMArrayType>(g.getGlobalType());
    if (g.getAddrSpace() == 3 && arr && arr.getNumElements() == 0)
      dynamicSmem.push_back(g);
  }
  for (LLVM::GlobalOp g : dynamicSmem) {
    replaceAddressOf(g, [&](Location loc) {
      return call(loc, "__nvemu_dynamic_smem", ptr, {});
    });
    g.erase();
  }
}

LogicalResult Rewriter::rewriteMma(NVVM::MmaOp op) {
  NVVM::MMAShapeAttr shape = op.getShapeAttr();
  auto typeA = op.getMultiplicandAPtxType();
  auto typeB = op.getMultiplicandBPtxType();
  bool f16 = typeA == NVVM::MMATypes::f16, bf16 = typeA == NVVM::MMATypes::bf16;
  auto c = op.getOperandC();
  if (shape.getM() != 16 || shape.getN() != 8 || shape.getK() != 16 ||
      !(f16 || bf16) || typeB != typeA ||
      op.getLayoutA() != NVVM::MMALayout::row ||
      op.getLayoutB() != NVVM::MMALayout::col || op.getOperandA().size() != 4 ||
      op.getOperandB().size() != 2 || c.size() != 4 ||
      !llvm::all_of(c.getTypes(), [](Type t) { return t.isF32(); }))
    return op.emitError("nvemu emulates mma.sync m16n8k16 row.col with f16 / "
                        "bf16 operands and an f32 accumulator only");
  Location loc = op.getLoc();
  Value out = scratch(op, b.getF32Type(), 4);
  SmallVector<Value> args = {i32Const(loc, bf16 ? 1 : 0), out};
  for (Value v : op.getOperandA())
    args.push_back(asI32(loc, v));
  for (Value v : op.getOperandB())
    args.push_back(asI32(loc, v));
  args.append(c.begin(), c.end());
  call(loc, "__nvemu_mma_m16n8k16", {}, args);
  op.getResult().replaceAllUsesWith(
      loadResults(loc, out, b.getF32Type(), op.getResult().getType(), 4));
  return success();
}

LogicalResult Rewriter::rewriteLdMatrix(NVVM::LdMatrixOp op) {
  NVVM::LdStMatrixShapeAttr shape = op.getShapeAttr();
  int64_t num = op.getNum();
  if (shape.getM() != 8 || shape.getN() != 8 ||
      op.getEltType() != NVVM::LdStMatrixEltType::B16 ||
      !(num == 1 || num == 2 || num == 4))
    return op.emitError("nvemu emulates ldmatrix .m8n8 .b16 x1 / x2 / x4 only");
  Location loc = op.getLoc();
  Value out = scratch(op, i32, 4);
  bool trans = op.getLayout() == NVVM::MMALayout::col;
  call(loc, "__nvemu_ldmatrix", {},
       {op.getPtr(), i32Const(loc, num), i32Const(loc, trans), out});
  op.getRes().replaceAllUsesWith(
      loadResults(loc, out, i32, op.getRes().getType(), num));
  return success();
}

LogicalResult Rewriter::rewriteShfl(NVVM::ShflOp op) {
  Location loc = op.getLoc();
  Type valType = op.getVal().getType();
  if (!valType.isF32() && valType != i32)
    return op.emitError("nvemu emulates shfl.sync on 32-bit values only");
  Value valid = scratch(op, i32, 1);
  // The emulator's mode codes (tools/nvemu/nvemu.h).
  int mode = 0;
  switch (op.getKind()) {
  case NVVM::ShflKind::bfly: mode = 0; break;
  case NVVM::ShflKind::up: mode = 1; break;
  case NVVM::ShflKind::down: mode = 2; break;
  case NVVM::ShflKind::idx: mode = 3; break;
  }
  Value got = call(loc, "__nvemu_shfl", i32,
                   {i32Const(loc, mode),
                    op.getThreadMask(), asI32(loc, op.getVal()),
                    op.getOffset(), op.getMaskAndClamp(), valid});
  if (valType.isF32())
    got = LLVM::BitcastOp::create(b, loc, valType, got);
  Value result = got;
  if (op.getReturnValueAndIsValid().value_or(false)) {
    Value flag = LLVM::LoadOp::create(b, loc, i32, valid);
    flag = LLVM::TruncOp::create(b, loc, b.getI1Type(), flag);
    result = LLVM::PoisonOp::create(b, loc, op.getRes().getType());
    result = LLVM::InsertValueOp::create(b, loc, result, got,
                                         ArrayRef<int64_t>{0});
    result = LLVM::InsertValueOp::create(b, loc, result, flag,
                                         ArrayRef<int64_t>{1});
  }
  op.getRes().replaceAllUsesWith(result);
  return success();
}

LogicalResult Rewriter::rewriteWgmma(NVVM::WgmmaMmaAsyncOp op) {
  NVVM::MMAShapeAttr shape = op.getShapeAttr();
  auto typeA = op.getTypeA();
  bool f16 = typeA == NVVM::WGMMATypes::f16, bf16 = typeA == NVVM::WGMMATypes::bf16;
  auto st = dyn_cast<LLVM::LLVMStructType>(op.getInouts().getType());
  int64_t n = shape.getN();
  if (shape.getM() != 64 || shape.getK() != 16 || n % 8 || n < 8 || n > 256 ||
      !(f16 || bf16) || op.getTypeB() != typeA ||
      op.getTypeD() != NVVM::WGMMATypes::f32 || op.getSatfinite() || !st ||
      static_cast<int64_t>(st.getBody().size()) != n / 2)
    return op.emitError("nvemu emulates wgmma.mma_async m64nNk16 with f16 / "
                        "bf16 operands in shared memory and an f32 "
                        "accumulator only");
  Location loc = op.getLoc();
  // Flags of __nvemu_wgmma (tools/nvemu/nvemu.h).
  int flags = (bf16 ? 1 : 0) |
              (op.getLayoutA() == NVVM::MMALayout::col ? 2 : 0) |
              (op.getLayoutB() == NVVM::MMALayout::row ? 4 : 0) |
              (op.getScaleD() == NVVM::WGMMAScaleOut::one ? 8 : 0) |
              (op.getScaleA() == NVVM::WGMMAScaleIn::neg ? 16 : 0) |
              (op.getScaleB() == NVVM::WGMMAScaleIn::neg ? 32 : 0);
  SmallVector<Value> acc;
  for (int64_t i = 0; i < n / 2; ++i)
    acc.push_back(LLVM::ExtractValueOp::create(b, loc, op.getInouts(),
                                               ArrayRef<int64_t>{i}));
  Value in = scratchOf(op, loc, b.getF32Type(), acc);
  Value out = scratch(op, b.getF32Type(), n / 2);
  call(loc, "__nvemu_wgmma", {},
       {i32Const(loc, flags), i32Const(loc, n), op.getDescriptorA(),
        op.getDescriptorB(), in, out});
  op.getResults().replaceAllUsesWith(
      loadResults(loc, out, b.getF32Type(), op.getResults().getType(), n / 2));
  return success();
}

LogicalResult Rewriter::rewriteInlinePtx(LLVM::InlineAsmOp op) {
  if (op.getNumOperands() == 1 && op.getNumResults() == 1 &&
      op.getOperand(0).getType() == op.getResult(0).getType() &&
      op.getOperand(0).getType().isIntOrFloat()) {
    int64_t bits = op.getOperand(0).getType().getIntOrFloatBitWidth();
    if (op.getAsmString() == opaqueCopyAsm(bits) &&
        op.getConstraints() == opaqueCopyConstraints(bits)) {
      op.getResult(0).replaceAllUsesWith(op.getOperand(0));
      return success();
    }
  }
  if (op.getNumOperands() == 1 && op.getNumResults() == 0 &&
      op.getAsmString() == wgmma::fencedWaitAllAsm() &&
      op.getConstraints() == wgmma::fencedWaitAllConstraints()) {
    // The branch only steers ptxas's scheduler: both paths wait for all.
    call(op.getLoc(), "__nvemu_wgmma_wait", {}, {i32Const(op.getLoc(), 0)});
    return success();
  }
  int64_t n;
  bool bf16, transB;
  if (!wgmma::parseRegisterAAsm(op.getAsmString().str(), n, bf16, transB) ||
      op.getConstraints() != wgmma::registerAConstraints(n) ||
      op.getNumResults() != 1 || op.getNumOperands() != n / 2 + 5)
    // Only the wgmma form of attn/Target/WgmmaAsm.h has semantics here.
    return op.emitError("nvemu cannot run inline PTX: ") << op.getAsmString();
  Location loc = op.getLoc();
  // The accumulator is read and written (scale-d is 1 in that form).
  int flags = (bf16 ? 1 : 0) | (transB ? 4 : 0) | 8;
  ValueRange operands = op.getOperands();
  Value in = scratchOf(op, loc, b.getF32Type(), operands.take_front(n / 2));
  SmallVector<Value> regs;
  for (Value v : operands.slice(n / 2, 4))
    regs.push_back(asI32(loc, v));
  Value a = scratchOf(op, loc, b.getI32Type(), regs);
  Value out = scratch(op, b.getF32Type(), n / 2);
  call(loc, "__nvemu_wgmma_rs", {},
       {i32Const(loc, flags), i32Const(loc, n), a, operands[n / 2 + 4], in,
        out});
  op.getResult(0).replaceAllUsesWith(loadResults(
      loc, out, b.getF32Type(), op.getResult(0).getType(), n / 2));
  return success();
}

LogicalResult
Rewriter::rewriteTma(NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp op) {
  auto coords = op.getCoordinates();
  if (op.getMode() != NVVM::TMALoadMode::TILE || op.getMulticastMask() ||
      op.getPredicate() || op.getGroup() || coords.empty() || coords.size() > 5 ||
      op->getNumOperands() != 3 + coords.size())
    return op.emitError("nvemu emulates tiled TMA loads without multicast, "
                        "predicate, CTA group or cache hint only");
  Location loc = op.getLoc();
  SmallVector<Value> args = {op.getDstMem(), op.getTmaDescriptor(), op.getMbar(),
                             i32Const(loc, coords.size())};
  for (size_t i = 0; i < 5; ++i)
    args.push_back(i < coords.size() ? coords[i] : i32Const(loc, 0));
  call(loc, "__nvemu_tma_load", {}, args);
  return success();
}

LogicalResult Rewriter::rewrite(Operation *op) {
  Location loc = op->getLoc();
  StringRef name = op->getName().getStringRef();
  LogicalResult done = success();
  if (auto intr = dyn_cast<LLVM::CallIntrinsicOp>(op)) {
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__nvemu_ex2_approx_ftz", b.getF32Type(), intr.getArgs()));
  } else if (name.consume_front("nvvm.read.ptx.sreg.")) {
    int code = sregCode(name);
    if (code < 0)
      return op->emitError("nvemu does not emulate special register ") << name;
    op->getResult(0).replaceAllUsesWith(
        call(loc, "__nvemu_sreg", i32, {i32Const(loc, code)}));
  } else if (isa<NVVM::Barrier0Op>(op)) {
    call(loc, "__nvemu_barrier", {}, {i32Const(loc, 0), i32Const(loc, -1)});
  } else if (auto bar = dyn_cast<NVVM::BarrierOp>(op)) {
    if (bar.getReductionOp() || bar.getRes())
      return op->emitError("nvemu does not emulate barrier reductions");
    Value id = bar.getBarrierId() ? bar.getBarrierId() : i32Const(loc, 0);
    Value n = bar.getNumberOfThreads() ? bar.getNumberOfThreads()
                                       : i32Const(loc, -1);
    call(loc, "__nvemu_barrier", {}, {id, n});
  } else if (auto mma = dyn_cast<NVVM::MmaOp>(op)) {
    done = rewriteMma(mma);
  } else if (auto ld = dyn_cast<NVVM::LdMatrixOp>(op)) {
    done = rewriteLdMatrix(ld);
  } else if (auto shfl = dyn_cast<NVVM::ShflOp>(op)) {
    done = rewriteShfl(shfl);
  } else if (auto cp = dyn_cast<NVVM::CpAsyncOp>(op)) {
    Value size = i32Const(loc, cp.getSize());
    Value src = cp.getCpSize() ? cp.getCpSize() : size;
    call(loc, "__nvemu_cp_async", {}, {cp.getDst(), cp.getSrc(), size, src});
  } else if (isa<NVVM::CpAsyncCommitGroupOp>(op)) {
    call(loc, "__nvemu_cp_async_commit", {}, {});
  } else if (auto wait = dyn_cast<NVVM::CpAsyncWaitGroupOp>(op)) {
    call(loc, "__nvemu_cp_async_wait", {}, {i32Const(loc, wait.getN())});
  } else if (auto arrive = dyn_cast<NVVM::BarrierArriveOp>(op)) {
    Value id = arrive.getBarrierId() ? arrive.getBarrierId() : i32Const(loc, 0);
    call(loc, "__nvemu_barrier_arrive", {}, {id, arrive.getNumberOfThreads()});
  } else if (auto mma = dyn_cast<NVVM::WgmmaMmaAsyncOp>(op)) {
    done = rewriteWgmma(mma);
  } else if (auto inlineAsm = dyn_cast<LLVM::InlineAsmOp>(op)) {
    done = rewriteInlinePtx(inlineAsm);
  } else if (isa<NVVM::WgmmaGroupSyncAlignedOp>(op)) {
    call(loc, "__nvemu_wgmma_commit", {}, {});
  } else if (auto wait = dyn_cast<NVVM::WgmmaWaitGroupSyncOp>(op)) {
    call(loc, "__nvemu_wgmma_wait", {}, {i32Const(loc, wait.getGroup())});
  } else if (auto tma = dyn_cast<NVVM::CpAsyncBulkTensorGlobalToSharedClusterOp>(op)) {
    done = rewriteTma(tma);
  } else if (auto init = dyn_cast<NVVM::MBarrierInitOp>(op)) {
    if (init.getPredicate())
      return op->emitError("nvemu does not emulate predicated mbarrier.init");
    call(loc, "__nvemu_mbarrier_init", {}, {init.getAddr(), init.getCount()});
  } else if (auto arrive = dyn_cast<NVVM::MBarrierArriveOp>(op)) {
    Value count = arrive.getCount() ? arrive.getCount() : i32Const(loc, 1);
    call(loc, "__nvemu_mbarrier_arrive", {}, {arrive.getAddr(), count, i32Const(loc, 0)});
    if (arrive.getRes())
      arrive.getRes().replaceAllUsesWith(LLVM::ConstantOp::create(
          b, loc, arrive.getRes().getType(),
          b.getIntegerAttr(arrive.getRes().getType(), 0)));
  } else if (auto arrive = dyn_cast<NVVM::MBarrierArriveExpectTxOp>(op)) {
    if (arrive.getPredicate())
      return op->emitError("nvemu does not emulate predicated mbarrier arrivals");
    call(loc, "__nvemu_mbarrier_arrive", {},
         {arrive.getAddr(), i32Const(loc, 1), arrive.getTxcount()});
    if (arrive.getRes())
      arrive.getRes().replaceAllUsesWith(LLVM::ConstantOp::create(
          b, loc, arrive.getRes().getType(),
          b.getIntegerAttr(arrive.getRes().getType(), 0)));
  } else if (auto wait = dyn_cast<NVVM::MBarrierTryWaitParityOp>(op)) {
    call(loc, "__nvemu_mbarrier_wait_parity", {}, {wait.getAddr(), wait.getPhase()});
  } else if (isa<NVVM::WgmmaFenceAlignedOp, NVVM::FenceProxyOp,
                 NVVM::FenceMbarrierInitOp, NVVM::SetMaxRegisterOp>(op)) {
    // Ordering the emulator already has (it runs each access when issued or,
    // for asynchronous copies, at their completion) and register budgets.
  } else {
    return op->emitError("nvemu does not emulate ") << op->getName();
  }
  if (failed(done))
    return failure();
  op->erase();
  return success();
}

struct AttnNVVMToHostPass
    : mlir::attn::impl::AttnNVVMToHostBase<AttnNVVMToHostPass> {
  void runOnOperation() override {
    if (failed(Rewriter(getOperation()).run()))
      signalPassFailure();
  }
};

} // namespace
