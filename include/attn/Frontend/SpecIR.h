//===- SpecIR.h - spec <-> attn IR ------------------------------*- C++ -*-===//
//
// Bridges the plain AttentionSpec (spec strings, reference, runtime tools) and
// the attn dialect: `--gen` builds IR from a spec, and tools that start from an
// .mlir file recover the spec of each op to drive the reference.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_FRONTEND_SPECIR_H
#define ATTN_FRONTEND_SPECIR_H

#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Spec/Spec.h"
#include "attn/Target/TargetInfo.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

namespace mlir::attn {

/// Builds `module { func.func @<name>(...) { attn.* ; return } }` for `spec`.
/// The spec must be valid (validateSpec).
OwningOpRef<ModuleOp> buildModuleFromSpec(MLIRContext *context,
                                          const AttentionSpec &spec);

/// Recovers the spec of an attn.attention / attn.linear_attention op. Fails
/// (with a diagnostic on the op) for what a spec cannot express: dynamic
/// shapes, or mask_fn / score_fn regions unless `ignoreRegions` (the caller
/// then handles the regions itself, as the lowering does).
FailureOr<AttentionSpec> specFromOp(Operation *op, bool ignoreRegions = false);

/// Mask attribute of one pattern, and back.
MaskAttr maskAttrFromSpec(MLIRContext *context, const MaskSpec &mask);
MaskSpec maskSpecFromAttr(MaskAttr attr);

/// What the GPU linear-attention kernel's shared memory depends on, for
/// `op` on a target of `kind` with a tiling of `blockKv` value columns.
LinearGpuProblem linearGpuProblemOf(LinearAttentionOp op, TargetKind kind,
                                    int64_t blockKv);
/// Sequence segments the linear-attention kernels (GPU and CPU) walk in
/// parallel: the count of a split_kv schedule, else 1.
int64_t linearSegmentsOf(LinearAttentionOp op);

/// Element type of a spec dtype, and back (nullopt: no spec dtype).
Type elementTypeOf(MLIRContext *context, DType dtype);
std::optional<DType> dtypeOf(Type t);

} // namespace mlir::attn

#endif // ATTN_FRONTEND_SPECIR_H
