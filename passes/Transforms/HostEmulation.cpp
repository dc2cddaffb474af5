//===- HostEmulation.cpp - GPU kernels as host code for the emulators -----===//

#include "HostEmulation.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/AttrTypeSubElements.h"

using namespace mlir;
using namespace mlir::attn;

HostEmulationRewriter::HostEmulationRewriter(ModuleOp module, StringRef tool,
                                             StringRef pipeline,
                                             StringRef assembly,
                                             StringRef intrinsicPrefix,
                                             StringRef entrySuffix)
    : module(module), ctx(module.getContext()), b(ctx),
      i32(IntegerType::get(ctx, 32)), ptr(LLVM::LLVMPointerType::get(ctx)),
      tool(tool.str()), pipeline(pipeline.str()), assembly(assembly.str()),
      intrinsicPrefix(intrinsicPrefix.str()), entrySuffix(entrySuffix.str()) {}

LLVM::LLVMFuncOp HostEmulationRewriter::declare(StringRef name, Type result,
                                   ArrayRef<Type> args) {
  if (auto fn = module.lookupSymbol<LLVM::LLVMFuncOp>(name))
    return fn;
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointToStart(module.getBody());
  return LLVM::LLVMFuncOp::create(
      b, module.getLoc(), name,
      LLVM::LLVMFunctionType::get(result ? result : LLVM::LLVMVoidType::get(ctx),
                                  args));
}

Value HostEmulationRewriter::call(Location loc, StringRef name, Type result,
                     ValueRange args) {
  SmallVector<Type> types(args.getTypes());
  LLVM::LLVMFuncOp fn = declare(name, result, types);
  auto op = LLVM::CallOp::create(b, loc, fn, args);
  return result ? op.getResult() : Value();
}

Value HostEmulationRewriter::i32Const(Location loc, int64_t v) {
  return LLVM::ConstantOp::create(b, loc, i32, b.getI32IntegerAttr(v));
}

Value HostEmulationRewriter::scratch(Operation *op, Type elt, int64_t n) {
  OpBuilder::InsertionGuard guard(b);
  auto fn = op->getParentOfType<LLVM::LLVMFuncOp>();
  b.setInsertionPointToStart(&fn.getBody().front());
  Value count = LLVM::ConstantOp::create(b, op->getLoc(), b.getI64Type(),
                                         b.getI64IntegerAttr(n));
  return LLVM::AllocaOp::create(b, op->getLoc(), ptr, elt, count, 16);
}

Value HostEmulationRewriter::scratchOf(Operation *op, Location loc, Type elt,
                                       ValueRange values) {
  Value buf = scratch(op, elt, values.size());
  for (auto [i, v] : llvm::enumerate(values)) {
    Value p = LLVM::GEPOp::create(
        b, loc, ptr, elt, buf,
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    LLVM::StoreOp::create(b, loc, v, p);
  }
  return buf;
}

Value HostEmulationRewriter::loadResults(Location loc, Value buf, Type elt, Type type,
                            int64_t n) {
  auto st = dyn_cast<LLVM::LLVMStructType>(type);
  if (!st)
    return LLVM::LoadOp::create(b, loc, elt, buf);
  Value agg = LLVM::PoisonOp::create(b, loc, type);
  for (int64_t i = 0; i < n; ++i) {
    Value p = LLVM::GEPOp::create(b, loc, ptr, elt, buf,
                                  ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    Value v = LLVM::LoadOp::create(b, loc, elt, p);
    agg = LLVM::InsertValueOp::create(b, loc, agg, v, ArrayRef<int64_t>{i});
  }
  return agg;
}

Value HostEmulationRewriter::asI32(Location loc, Value v) {
  if (v.getType() == i32)
    return v;
  return LLVM::BitcastOp::create(b, loc, i32, v);
}

void HostEmulationRewriter::replaceAddressOf(
    LLVM::GlobalOp g, function_ref<Value(Location)> make) {
  SmallVector<LLVM::AddressOfOp> uses;
  module.walk([&](LLVM::AddressOfOp a) {
    if (a.getGlobalName() == g.getSymName())
      uses.push_back(a);
  });
  for (LLVM::AddressOfOp a : uses) {
    b.setInsertionPoint(a);
    a.getResult().replaceAllUsesWith(make(a.getLoc()));
    a.erase();
  }
}

/// `<kernel><entrySuffix>(void **params)`: the kernelParams array holds one
/// pointer per parameter; a by-value parameter (a tensor map) is passed as
/// that pointer, as the kernel reads it through one (`run` has dropped the
/// byval attribute, which on the host would mean a copy on the stack).
void HostEmulationRewriter::addEntry(LLVM::LLVMFuncOp kernel, ArrayRef<bool> byValue) {
  OpBuilder::InsertionGuard guard(b);
  b.setInsertionPointAfter(kernel);
  Location loc = kernel.getLoc();
  auto voidTy = LLVM::LLVMVoidType::get(ctx);
  auto entry = LLVM::LLVMFuncOp::create(
      b, loc, (kernel.getName() + entrySuffix).str(),
      LLVM::LLVMFunctionType::get(voidTy, {ptr}));
  Block *body = entry.addEntryBlock(b);
  b.setInsertionPointToStart(body);
  SmallVector<Value> args;
  for (unsigned i = 0; i < kernel.getNumArguments(); ++i) {
    Value slot = LLVM::GEPOp::create(
        b, loc, ptr, ptr, body->getArgument(0),
        ArrayRef<LLVM::GEPArg>{static_cast<int32_t>(i)});
    Value p = LLVM::LoadOp::create(b, loc, ptr, slot);
    Type t = kernel.getArgument(i).getType();
    args.push_back(byValue[i] ? p : LLVM::LoadOp::create(b, loc, t, p).getResult());
  }
  LLVM::CallOp::create(b, loc, kernel, args);
  LLVM::ReturnOp::create(b, loc, ValueRange{});
  addedEntry(kernel);
}

LogicalResult HostEmulationRewriter::run() {
  // The device code becomes the module; the host side (launches) goes.
  SmallVector<gpu::GPUModuleOp> gpuModules;
  SmallVector<Operation *> rest;
  for (Operation &op : *module.getBody()) {
    if (auto gm = dyn_cast<gpu::GPUModuleOp>(op))
      gpuModules.push_back(gm);
    else
      rest.push_back(&op);
  }
  if (gpuModules.empty())
    return module.emitError("no gpu.module to emulate: run " + pipeline +
                            " first");
  for (Operation *op : rest)
    op->erase();
  for (gpu::GPUModuleOp gm : gpuModules) {
    for (Operation &op : *gm.getBody())
      if (auto sym = dyn_cast<SymbolOpInterface>(op))
        if (module.lookupSymbol(sym.getNameAttr()))
          return op.emitError(tool + ": symbol ")
                 << sym.getNameAttr() << " is defined by two gpu.modules";
    module.getBody()->getOperations().splice(module.getBody()->end(),
                                             gm.getBody()->getOperations());
    gm.erase();
  }
  module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());

  placeSharedMemory();
  for (auto g : module.getOps<LLVM::GlobalOp>())
    g.setAddrSpace(0);

  SmallVector<Operation *> targets;
  WalkResult walk = module.walk([&](Operation *op) {
    // Device ops first: an emulator may run inline assembly it knows.
    if (isDeviceOp(op)) {
      targets.push_back(op);
      return WalkResult::advance();
    }
    if (auto asmOp = dyn_cast<LLVM::InlineAsmOp>(op)) {
      asmOp.emitError(tool + " cannot run inline " + assembly + ": ")
          << asmOp.getAsmString();
      return WalkResult::interrupt();
    }
    if (auto intr = dyn_cast<LLVM::CallIntrinsicOp>(op))
      if (intr.getIntrin().starts_with(intrinsicPrefix)) {
        intr.emitError(tool + " does not emulate ") << intr.getIntrin();
        return WalkResult::interrupt();
      }
    return WalkResult::advance();
  });
  if (walk.wasInterrupted())
    return failure();
  for (Operation *op : targets) {
    b.setInsertionPoint(op);
    if (failed(rewrite(op)))
      return failure();
  }

  // Host pointers only; casts between address spaces become no-ops.
  AttrTypeReplacer replacer;
  replacer.addReplacement([&](LLVM::LLVMPointerType t) -> std::optional<Type> {
    return t.getAddressSpace() ? ptr : Type(t);
  });
  replacer.recursivelyReplaceElementsIn(module, /*replaceAttrs=*/true,
                                        /*replaceLocs=*/false,
                                        /*replaceTypes=*/true);
  SmallVector<LLVM::AddrSpaceCastOp> casts;
  module.walk([&](LLVM::AddrSpaceCastOp c) { casts.push_back(c); });
  for (LLVM::AddrSpaceCastOp c : casts) {
    c.getResult().replaceAllUsesWith(c.getArg());
    c.erase();
  }

  // GPU attributes would make the translation pick the device calling
  // convention; the emulator calls kernels as ordinary functions.
  SmallVector<std::pair<LLVM::LLVMFuncOp, SmallVector<bool>>> kernels;
  for (auto fn : module.getOps<LLVM::LLVMFuncOp>()) {
    bool kernel = isKernel(fn);
    for (NamedAttribute a : llvm::to_vector(fn->getDiscardableAttrs()))
      if (llvm::any_of(attributePrefixes(), [&](StringRef prefix) {
            return a.getName().strref().starts_with(prefix);
          }))
        fn->removeAttr(a.getName());
    fn.setCConv(LLVM::CConv::C);
    SmallVector<bool> byValue;
    for (unsigned i = 0; i < fn.getNumArguments(); ++i) {
      byValue.push_back(static_cast<bool>(
          fn.removeArgAttr(i, LLVM::LLVMDialect::getByValAttrName())));
      fn.removeArgAttr(i, LLVM::LLVMDialect::getAlignAttrName());
      if (DictionaryAttr attrs = fn.getArgAttrDict(i))
        for (NamedAttribute a : llvm::to_vector(attrs.getValue()))
          if (llvm::any_of(attributePrefixes(), [&](StringRef prefix) {
                return a.getName().strref().starts_with(prefix);
              }))
            fn.removeArgAttr(i, a.getName());
    }
    if (kernel)
      kernels.push_back({fn, byValue});
  }
  for (auto &[k, byValue] : kernels)
    addEntry(k, byValue);
  return success();
}
