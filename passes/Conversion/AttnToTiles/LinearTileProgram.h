//===- LinearTileProgram.h - attn.linear_attention -> tile program -*-C++-*-===//

#ifndef ATTN_PASSES_CONVERSION_ATTNTOTILES_LINEARTILEPROGRAM_H
#define ATTN_PASSES_CONVERSION_ATTNTOTILES_LINEARTILEPROGRAM_H

#include "attn/Dialect/Attn/IR/AttnOps.h"

#include "mlir/IR/BuiltinOps.h"

namespace mlir::attn {

/// Replaces the function holding `op` with its tile program: a kernel of the
/// same name `(Q, K, V, [state_in], O, [state_out], wi_begin, wi_end)`, one
/// work item per (batch, head), chunked as Lightning Attention-2.
LogicalResult lowerLinearAttentionToTiles(ModuleOp module,
                                          LinearAttentionOp op);

} // namespace mlir::attn

#endif // ATTN_PASSES_CONVERSION_ATTNTOTILES_LINEARTILEPROGRAM_H
