//===- LinearGpuKernel.h - attn.linear_attention -> GPU kernel --*- C++ -*-===//

#ifndef ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H
#define ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Target/TargetInfo.h"

#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

/// Lowers `op` (whose function holds only it, tiling chosen for the target
/// by attn-select-schedule) to a gpu.func of the same name in a new
/// gpu.module `<name>_kernels` at the end of `module`, with the flat-memref
/// ABI (q, k, v, [state_in], o, [state_out], B, Sq, Skv, [workspace]),
/// and erases the function. Grid: (ceil(Dv / block_kv) x segments, H, B)
/// (linearSegmentsOf; with more than one, the f32 workspace of
/// linearGpuWorkspace follows the scalars); block: warps x the target's
/// warp size (NVVM 32, ROCDL 64) threads. NVVM takes its shared memory
/// dynamically (static .shared stops at 48 KiB; the bundle records the
/// size), ROCDL as one workgroup attribution (LDS is static). bf16 and f16
/// inputs (linearTensorCores) take their chunk products on the target's
/// tensor cores (NVVM mma.sync, ROCDL MFMA), f32 inputs on f32 FMAs.
FailureOr<gpu::GPUFuncOp> lowerLinearAttentionToGpu(ModuleOp module,
                                                    LinearAttentionOp op,
                                                    TargetKind kind);

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_COMMON_LINEARGPUKERNEL_H
