//===- Pipelines.h - named attn pipelines -----------------------*- C++ -*-===//

#ifndef ATTN_PIPELINES_H
#define ATTN_PIPELINES_H

#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassOptions.h"

namespace mlir::attn {

struct CPUPipelineOptions : public PassPipelineOptions<CPUPipelineOptions> {
  PassOptions::Option<bool> countTiles{
      *this, "count-tiles",
      llvm::cl::desc("Instrument kernels with executed-tile counters"),
      llvm::cl::init(false)};
};

/// attn (tensors) -> tile program -> LLVM dialect with a C entry point
/// `_mlir_ciface_<name>` per kernel.
void buildAttnToCPUPipeline(OpPassManager &pm,
                            const CPUPipelineOptions &options);

/// Registers `attn-to-cpu-pipeline` and friends with the pass registry.
void registerAttnPipelines();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_H
