//===- Passes.h - attn passes -----------------------------------*- C++ -*-===//

#ifndef ATTN_PASSES_H
#define ATTN_PASSES_H

#include "mlir/Pass/Pass.h"

#include "llvm/ADT/StringRef.h"

#include <memory>
#include <string>

namespace mlir::attn {

/// On a kernel: its last N parameters are CUtensorMap objects passed by
/// value (convert-attn-to-nvgpu sets it, attn-mark-tensor-map-params reads
/// it after gpu-to-nvvm).
constexpr llvm::StringLiteral kTensorMapParamsAttr = "attn.tensor_map_params";

#define GEN_PASS_DECL
#include "passes/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "passes/Passes.h.inc"

} // namespace mlir::attn

#endif // ATTN_PASSES_H
