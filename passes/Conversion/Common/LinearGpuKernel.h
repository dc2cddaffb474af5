//===- LinearGpuKernel.h - attn.linear_attention -> GPU kernel --*- C++ -*-===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H
#define ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

/// How a GPU target holds the kernel's shared memory.
enum class LinearGpuSharedMemory {
  /// gpu.dynamic_shared_memory: the bundle records its size and the runtime
  /// passes it at launch (NVIDIA: static .shared stops at 48 KiB).
  Dynamic,
  /// One workgroup attribution of the whole size (AMD: LDS is static).
  Attribution,
};

/// How the kernel computes its chunk products.
enum class LinearGpuProducts {
  /// f32 FMAs, register blocked: exact to f32 for every input type.
  Fma,
  /// NVIDIA mma.sync m16n8k16 tiles, bf16 operands rounded from the f32
  /// chunk buffers and state, f32 accumulators, for the input types
  /// linearNvvmMmaSync admits (bf16); Fma for the others.
  MmaSync,
};

/// Lowers `op` (whose function holds only it, tiling chosen for the target
/// by attn-select-schedule) to a gpu.func of the same name in a new
/// gpu.module `<name>_kernels` at the end of `module`, with the flat-memref
/// ABI (q, k, v, [state_in], o, [state_out], B, Sq, Skv), and erases the
/// function. Grid: (ceil(Dv / block_kv), H, B); block: warps x `warpSize`
/// threads.
FailureOr<gpu::GPUFuncOp>
lowerLinearAttentionToGpu(ModuleOp module, LinearAttentionOp op,
                          int64_t warpSize, LinearGpuSharedMemory shared,
                          LinearGpuProducts products = LinearGpuProducts::Fma);

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H
