//===- InitAll.h - register what attention-opt needs ------------*- C++ -*-===//

#ifndef ATTN_INITALL_H
#define ATTN_INITALL_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::attn {

/// The attn dialect plus the upstream dialects and extensions the pipelines
/// produce or pass through (a curated list, not registerAllDialects).
void registerAllDialects(DialectRegistry &registry);

/// attn passes, pipelines, and the upstream passes the pipelines use.
void registerAllPasses();

} // namespace mlir::attn

#endif // ATTN_INITALL_H
