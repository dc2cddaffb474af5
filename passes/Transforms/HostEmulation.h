//===- HostEmulation.h - GPU kernels as host code for the emulators -*- C++ -*-===//
//
// What attn-nvvm-to-host and attn-rocdl-to-host share: the device code of
// the gpu.modules becomes the module (host code is dropped), address
// spaces are erased, each device operation becomes a call into the
// emulator library (tools/nvemu) by the target's `rewrite`, and each kernel
// gets an entry `<kernel><entrySuffix>(void **params)` taking the driver's
// kernelParams array.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_PASSES_TRANSFORMS_HOSTEMULATION_H
#define ATTN_PASSES_TRANSFORMS_HOSTEMULATION_H

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

class HostEmulationRewriter {
public:
  /// `tool` names the emulator in diagnostics, `pipeline` the pipeline
  /// whose output it takes and `assembly` the target's inline assembly;
  /// `intrinsicPrefix` the LLVM intrinsics of the target (which the
  /// emulator cannot run).
  HostEmulationRewriter(ModuleOp module, StringRef tool, StringRef pipeline,
                        StringRef assembly, StringRef intrinsicPrefix,
                        StringRef entrySuffix);
  virtual ~HostEmulationRewriter() = default;

  LogicalResult run();

protected:
  /// Whether `op` is a device operation `rewrite` replaces.
  virtual bool isDeviceOp(Operation *op) = 0;
  /// Replaces `op` (the builder is set before it) and erases it.
  virtual LogicalResult rewrite(Operation *op) = 0;
  /// Binds the module's shared-memory (LDS) globals to emulated memory.
  virtual void placeSharedMemory() = 0;
  /// Whether a function is a kernel (before its attributes are stripped).
  virtual bool isKernel(LLVM::LLVMFuncOp fn) = 0;
  /// Discardable attribute prefixes of the target, removed from functions.
  virtual ArrayRef<StringRef> attributePrefixes() = 0;
  /// Hook for each kernel's entry, after it is created.
  virtual void addedEntry(LLVM::LLVMFuncOp kernel) {}

  LLVM::LLVMFuncOp declare(StringRef name, Type result, ArrayRef<Type> args);
  Value call(Location loc, StringRef name, Type result, ValueRange args);
  Value i32Const(Location loc, int64_t v);
  /// An alloca of `n` x `elt` in the entry block of the op's function.
  Value scratch(Operation *op, Type elt, int64_t n);
  /// A scratch buffer of `values` (each of type `elt`), stored in order at
  /// `loc`.
  Value scratchOf(Operation *op, Location loc, Type elt, ValueRange values);
  /// Loads `n` values of `elt` from `buf` into a struct of type `type` (or
  /// one value when `type` is not a struct).
  Value loadResults(Location loc, Value buf, Type elt, Type type, int64_t n);
  Value asI32(Location loc, Value v);
  /// The uses of global `g` replaced by `make()` at each use.
  void replaceAddressOf(LLVM::GlobalOp g, function_ref<Value(Location)> make);

  ModuleOp module;
  MLIRContext *ctx;
  OpBuilder b;
  Type i32;
  Type ptr;
  std::string tool, pipeline, assembly, intrinsicPrefix, entrySuffix;

private:
  void addEntry(LLVM::LLVMFuncOp kernel, ArrayRef<bool> byValue);
};

} // namespace mlir::attn

#endif // ATTN_PASSES_TRANSFORMS_HOSTEMULATION_H
