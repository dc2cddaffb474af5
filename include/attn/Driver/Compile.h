//===- Compile.h - attn ops to binaries and bundles -------------*- C++ -*-===//
//
// The end of every pipeline: run the named pipeline of a target on a module
// holding one attn op, turn the result into a binary (CPU shared object via
// LLVM IR + clang; PTX via gpu-module-to-binary and cubin via ptxas) and
// describe how to launch it (BundleKernel). attention-opt --attn-compile and
// attention-run share this code.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_DRIVER_COMPILE_H
#define ATTN_DRIVER_COMPILE_H

#include "attn/Emit/Bundle.h"
#include "attn/Spec/Spec.h"
#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace mlir::attn {

struct ToolPaths {
  std::string clang;   ///< clang used to link CPU shared objects
  std::string ptxas;   ///< CUDA ptxas
  std::string cudaToolkit; ///< for libdevice (gpu-module-to-binary toolkit=)
  /// A folder with llvm/bin/ld.lld: what gpu-module-to-binary links HSACO
  /// with (a stand-in for a ROCm install; the build creates it).
  std::string rocmToolkit;
  /// The nvemu emulator library (tools/nvemu), linked into emulation builds.
  std::string nvemuLibrary;
  /// Paths of this build (set at configure time).
  static ToolPaths defaults();
};

/// Which kernel the NVIDIA pipeline builds on sm_90a for 16-bit inputs whose
/// head dims TMA can tile: the warp-specialized TMA kernel by default; the
/// TMA kernel without a producer warpgroup and the cp.async one stay
/// selectable (`--attn-compile="target=sm_90a tma=0"`) to compare variants
/// on a GPU.
struct NvvmKernelOptions {
  bool tma = true;
  bool warpSpecialize = true;
  /// Intra-warpgroup overlap of P V with the next softmax (opt-in until a
  /// GPU has measured it).
  bool overlap = false;
  /// The math warpgroups take turns issuing their products (opt-in for the
  /// same reason).
  bool pingpong = false;
  /// Persistent CTAs of the warp-specialized kernel: the bundle launches
  /// min(output tiles, persistentCtas) CTAs that walk the tiles, or with
  /// kPersistentPerSM (`persistent=sm`) one per multiprocessor of the
  /// device the runtime launches on (0: one CTA per tile; opt-in until a
  /// GPU has measured it).
  int64_t persistentCtas = 0;
  static constexpr int64_t kPersistentPerSM = -1;
  /// The warp-specialized kernel's producer share after setmaxnreg
  /// (`producer-registers=N`, a multiple of 8 in [24, 256)): only that
  /// split is built, so a GPU run can time one (e.g. FlashAttention-3's
  /// 24, which leaves the math warpgroups 240). 0: the compile tries
  /// kNvvmProducerRegisterChoices in turn and keeps the first without
  /// spills. Either way a kernel that spills under every split tried is
  /// built without the producer warpgroup.
  int64_t producerRegisters = 0;
  /// Exponentials as ex2.approx.ftz.f32 (`exp2-ftz=0`: ex2.approx.f32). With
  /// it on, a kernel ptxas spills is rebuilt with it off before anything
  /// else gives way (the PTX differs only there; see compileNvvm).
  bool exp2Ftz = true;
  /// Also build every NVIDIA and AMD kernel as host code for the emulator
  /// (tools/nvemu), so its numerics can be checked without a GPU.
  bool emulation = false;
};

/// Lowers `module` (one function holding one attn.attention; it is modified)
/// for `target` and returns the kernels (cpu: one `so`; sm_*: `ptx` and
/// `cubin`; gfx*: `hsaco`). `name` names the files. Errors are reported on the module.
FailureOr<std::vector<BundleKernel>>
compileForTarget(ModuleOp module, const std::string &target,
                 const std::string &name, const ToolPaths &tools,
                 bool countTiles = false, const NvvmKernelOptions &nvvm = {});

/// CPU only: the lowered module's shared object written to `soPath`.
/// `extraArgs` go to the link (libraries).
LogicalResult buildSharedObject(ModuleOp lowered, const std::string &name,
                                const std::string &soPath,
                                const ToolPaths &tools,
                                ArrayRef<std::string> extraArgs = {});

/// Tensor arguments of the kernel ABI of `spec`, in call order.
std::vector<BundleArg> bundleArgs(const AttentionSpec &spec);

/// The bundle of `spec` named `name`, without kernels yet.
BundleDesc describeBundle(const AttentionSpec &spec, const std::string &name);

/// Parses the space-separated kernel choices of --attn-compile /
/// attention-run --kernel-options (tma=0|1 warp-specialize=0|1 overlap=0|1
/// pingpong=0|1 exp2-ftz=0|1 emulation=0|1 persistent=N|sm
/// producer-registers=N) into `nvvm`.
/// Returns the options given, or an error message in `error`.
std::vector<std::string> parseNvvmKernelOptions(llvm::StringRef text,
                                                NvvmKernelOptions &nvvm,
                                                std::string &error);

/// Compiles each target and writes DIR/<name>.{json,h} plus the binaries.
/// `targets` is a comma-separated list (cpu, sm_80, sm_90, ...).
LogicalResult compileBundle(ModuleOp module, const std::string &targets,
                            const std::string &emitDir,
                            const ToolPaths &tools,
                            const NvvmKernelOptions &nvvm = {});

} // namespace mlir::attn

#endif // ATTN_DRIVER_COMPILE_H
