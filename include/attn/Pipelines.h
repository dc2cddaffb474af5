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

struct NVVMPipelineOptions : public PassPipelineOptions<NVVMPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("NVIDIA chip: sm_80, sm_86, sm_89, sm_90"),
      llvm::cl::init("sm_80")};
  PassOptions::Option<std::string> features{
      *this, "features", llvm::cl::desc("PTX features"),
      llvm::cl::init("+ptx80")};
  PassOptions::Option<bool> tma{
      *this, "tma",
      llvm::cl::desc("sm_90a: load Q/K/V by TMA where the head dims allow"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> warpSpecialize{
      *this, "warp-specialize",
      llvm::cl::desc("sm_90a TMA kernel: a producer warpgroup issues the loads"),
      llvm::cl::init(true)};
  PassOptions::Option<int64_t> producerRegisters{
      *this, "producer-registers",
      llvm::cl::desc("Registers the producer warpgroup keeps (setmaxnreg)"),
      llvm::cl::init(72)};
  PassOptions::Option<bool> overlap{
      *this, "overlap",
      llvm::cl::desc("Warp-specialized kernel: P V overlapped with the next "
                     "softmax"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> pingpong{
      *this, "pingpong",
      llvm::cl::desc("Warp-specialized kernel: math warpgroups take turns "
                     "issuing their products"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> persistent{
      *this, "persistent",
      llvm::cl::desc("Warp-specialized kernel: persistent CTAs walking the "
                     "output tiles (the grid is the launch's choice)"),
      llvm::cl::init(false)};
  PassOptions::Option<bool> exp2Ftz{
      *this, "exp2-ftz",
      llvm::cl::desc("Exponentials as ex2.approx.ftz.f32 (else llvm.exp2's "
                     "ex2.approx.f32)"),
      llvm::cl::init(true)};
  PassOptions::Option<bool> inlinePtx{
      *this, "inline-ptx",
      llvm::cl::desc("Lower NVVM ops without an LLVM intrinsic (wgmma, "
                     "mbarrier waits, ...) to inline PTX (convert-nvvm-to-llvm); "
                     "off only for the nvemu emulator, which implements the ops"),
      llvm::cl::init(true)};
};

/// attn -> gpu.module of NVVM/LLVM-dialect kernels with an #nvvm.target,
/// ready for gpu-module-to-binary (PTX / cubin).
void buildAttnToNVVMPipeline(OpPassManager &pm,
                             const NVVMPipelineOptions &options);

struct ROCDLPipelineOptions : public PassPipelineOptions<ROCDLPipelineOptions> {
  PassOptions::Option<std::string> chip{
      *this, "chip", llvm::cl::desc("AMD chip: gfx90a, gfx942"),
      llvm::cl::init("gfx942")};
};

/// attn -> gpu.module of ROCDL/LLVM-dialect kernels with a #rocdl.target
/// (code object v5), ready for gpu-module-to-binary (HSACO via lld).
void buildAttnToROCDLPipeline(OpPassManager &pm,
                              const ROCDLPipelineOptions &options);

/// attn (tensors) -> tile program -> LLVM dialect with a C entry point
/// `_mlir_ciface_<name>` per kernel.
void buildAttnToCPUPipeline(OpPassManager &pm,
                            const CPUPipelineOptions &options);

/// Registers `attn-to-cpu-pipeline` and friends with the pass registry.
void registerAttnPipelines();

} // namespace mlir::attn

#endif // ATTN_PIPELINES_H
