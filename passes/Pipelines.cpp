//===- Pipelines.cpp - named attn pipelines -------------------------------===//

#include "attn/Pipelines.h"
#include "attn/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildAttnToCPUPipeline(OpPassManager &pm,
                                        const CPUPipelineOptions &options) {
  // attention-opt --attn-select-schedule=target=cpu
  pm.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{"cpu"}));
  // attention-opt --convert-attn-to-tiles
  ConvertAttnToTilesOptions tiles;
  tiles.countTiles = options.countTiles;
  pm.addPass(createConvertAttnToTiles(tiles));
  // attention-opt --scf-forall-to-for --canonicalize: the host runtime splits
  // the work-item range over threads, so each call is a sequential loop.
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // attention-opt --convert-math-to-libm --convert-scf-to-cf --arith-expand=include-bf16
  //   --expand-strided-metadata --finalize-memref-to-llvm --convert-to-llvm
  //   --reconcile-unrealized-casts
  pm.addPass(createConvertMathToLibmPass());
  pm.addPass(createSCFToControlFlowPass());
  // bf16 conversions become integer ops: no compiler-rt helpers needed.
  arith::ArithExpandOpsPassOptions expand;
  expand.includeBf16 = true;
  pm.addPass(arith::createArithExpandOpsPass(expand));
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(createConvertToLLVMPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::attn::registerAttnPipelines() {
  PassPipelineRegistration<CPUPipelineOptions>(
      "attn-to-cpu-pipeline",
      "Lower attn ops to LLVM dialect kernels for the CPU target",
      buildAttnToCPUPipeline);
}
