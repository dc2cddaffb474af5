//===- Pipelines.cpp - named attn pipelines -------------------------------===//

#include "attn/Pipelines.h"
#include "attn/Target/TargetInfo.h"
#include "attn/Passes.h"

#include "mlir/Conversion/Passes.h"
#include "mlir/Dialect/Arith/Transforms/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Conversion/VectorToSCF/VectorToSCF.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/Dialect/SCF/Transforms/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Transforms/Passes.h"

using namespace mlir;

void mlir::attn::buildAttnToCPUPipeline(OpPassManager &pm,
                                        const CPUPipelineOptions &options) {
  // attention-opt --attn-select-schedule=target=cpu
  pm.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{"cpu", "cpu"}));
  // attention-opt --convert-attn-to-tiles
  ConvertAttnToTilesOptions tiles;
  tiles.countTiles = options.countTiles;
  pm.addPass(createConvertAttnToTiles(tiles));
  // attention-opt --scf-forall-to-for --canonicalize: the host runtime splits
  // the work-item range over threads, so each call is a sequential loop.
  pm.addNestedPass<func::FuncOp>(createForallToForLoopPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  // attention-opt --attn-expand-math=target=cpu --convert-math-to-libm
  //   --convert-scf-to-cf --arith-expand=include-bf16
  //   --expand-strided-metadata --finalize-memref-to-llvm --convert-to-llvm
  //   --reconcile-unrealized-casts
  pm.addPass(createAttnExpandMath(AttnExpandMathOptions{"cpu"}));
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

void mlir::attn::buildAttnToNVVMPipeline(OpPassManager &pm,
                                         const NVVMPipelineOptions &options) {
  // attention-opt --attn-select-schedule=target=<chip> --convert-attn-to-nvgpu
  pm.addPass(
      createAttnSelectSchedule(AttnSelectScheduleOptions{options.chip, "nvvm"}));
  ConvertAttnToNVGPUOptions lowering;
  lowering.wgmma = nvvmUsesWgmma(options.chip);
  lowering.tma = lowering.wgmma && options.tma;
  lowering.warpSpecialize = lowering.tma && options.warpSpecialize;
  lowering.producerRegisters = options.producerRegisters;
  lowering.overlap = options.overlap;
  lowering.pingpong = options.pingpong;
  lowering.persistent = options.persistent;
  lowering.exp2Ftz = options.exp2Ftz;
  pm.addPass(createConvertAttnToNVGPU(lowering));
  // --attn-expand-math=target=nvvm: a region's math ops within libdevice.
  pm.addPass(createAttnExpandMath(AttnExpandMathOptions{"nvvm"}));
  // Device lowering, the order of shared/GPU-NOTES.md section 2:
  // --convert-nvgpu-to-nvvm --convert-vector-to-scf --expand-strided-metadata
  // --lower-affine --convert-scf-to-cf --convert-nvvm-to-llvm
  pm.addPass(createConvertNVGPUToNVVMPass());
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // (The nvemu build keeps those NVVM ops: the emulator implements them.)
  if (options.inlinePtx)
    pm.addPass(createConvertNVVMToLLVMPass());
  // --nvvm-attach-target="chip=<chip> features=+ptx80 O=3"
  GpuNVVMAttachTargetOptions attach;
  attach.chip = options.chip;
  attach.features = options.features;
  attach.optLevel = 3;
  pm.addPass(createGpuNVVMAttachTarget(attach));
  // --convert-gpu-to-nvvm --convert-vector-to-llvm --convert-ub-to-llvm
  // (vector-to-llvm after gpu-to-nvvm: GPU-NOTES error #4)
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToNVVMOps());
  // --attn-mark-tensor-map-params (TMA kernels: CUtensorMap by value)
  pm.addPass(createAttnMarkTensorMapParams());
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::attn::buildAttnToROCDLPipeline(OpPassManager &pm,
                                          const ROCDLPipelineOptions &options) {
  // attention-opt --attn-select-schedule=target=<chip> --convert-attn-to-amdgpu
  pm.addPass(
      createAttnSelectSchedule(AttnSelectScheduleOptions{options.chip, "rocdl"}));
  pm.addPass(createConvertAttnToAMDGPU());
  // --attn-expand-math=target=rocdl: a region's math ops without ocml.
  pm.addPass(createAttnExpandMath(AttnExpandMathOptions{"rocdl"}));
  // The verified AMD order of shared/GPU-NOTES.md section 2:
  // --convert-amdgpu-to-rocdl=chipset=<chip> --convert-vector-to-scf
  // --expand-strided-metadata --lower-affine --convert-scf-to-cf
  ConvertAMDGPUToROCDLPassOptions amdgpu;
  amdgpu.chipset = options.chip;
  pm.addPass(createConvertAMDGPUToROCDLPass(amdgpu));
  pm.addPass(createConvertVectorToSCFPass());
  pm.addPass(memref::createExpandStridedMetadataPass());
  pm.addPass(createLowerAffinePass());
  pm.addPass(createSCFToControlFlowPass());
  // --rocdl-attach-target="chip=<chip> O=3 abi=500" (code object v5: what
  // current ROCm runtimes load)
  GpuROCDLAttachTargetOptions attach;
  attach.chip = options.chip;
  attach.optLevel = 3;
  attach.abiVersion = "500";
  pm.addPass(createGpuROCDLAttachTarget(attach));
  // --convert-gpu-to-rocdl="chipset=<chip> runtime=HIP" --convert-vector-to-llvm
  // --convert-ub-to-llvm
  ConvertGpuOpsToROCDLOpsOptions rocdl;
  rocdl.chipset = options.chip;
  rocdl.runtime = gpu::amd::Runtime::HIP;
  pm.addNestedPass<gpu::GPUModuleOp>(createConvertGpuOpsToROCDLOps(rocdl));
  pm.addPass(createConvertVectorToLLVMPass());
  pm.addPass(createUBToLLVMConversionPass());
  pm.addPass(createCanonicalizerPass());
  pm.addPass(createCSEPass());
  pm.addPass(createReconcileUnrealizedCastsPass());
}

void mlir::attn::registerAttnPipelines() {
  for (const char *flag : {"attn-to-rocdl-pipeline", "attn-to-rocdl"})
    PassPipelineRegistration<ROCDLPipelineOptions>(
        flag, "Lower attn ops to ROCDL kernels (MFMA) in a gpu.module",
        buildAttnToROCDLPipeline);
  // The issue and DESIGN.md spell it `--attn-to-nvvm`; `-pipeline` is the
  // house suffix. Both names build the same pipeline.
  for (const char *flag : {"attn-to-nvvm-pipeline", "attn-to-nvvm"})
    PassPipelineRegistration<NVVMPipelineOptions>(
        flag, "Lower attn ops to NVVM kernels (mma.sync) in a gpu.module",
        buildAttnToNVVMPipeline);
  PassPipelineRegistration<CPUPipelineOptions>(
      "attn-to-cpu-pipeline",
      "Lower attn ops to LLVM dialect kernels for the CPU target",
      buildAttnToCPUPipeline);
}
