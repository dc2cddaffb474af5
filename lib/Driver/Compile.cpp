//===- Compile.cpp - attn ops to binaries and bundles ---------------------===//

#include "attn/Driver/Compile.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/Passes.h"
#include "attn/Pipelines.h"
#include "attn/Target/TargetInfo.h"

#include "Formula.h" // runtime/lib: the name grid formulas use for SMs

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/Program.h"
#include "llvm/Support/Regex.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;
using namespace mlir::attn;

#ifndef ATTN_CLANG
#define ATTN_CLANG "clang"
#endif
#ifndef ATTN_PTXAS
#define ATTN_PTXAS "ptxas"
#endif
#ifndef ATTN_CUDA_TOOLKIT
#define ATTN_CUDA_TOOLKIT "/usr/local/cuda"
#endif
#ifndef ATTN_ROCM_TOOLKIT
#define ATTN_ROCM_TOOLKIT "/opt/rocm"
#endif
#ifndef ATTN_NVEMU_LIBRARY
#define ATTN_NVEMU_LIBRARY "libattn_nvemu.a"
#endif

ToolPaths ToolPaths::defaults() {
  return {ATTN_CLANG, ATTN_PTXAS, ATTN_CUDA_TOOLKIT, ATTN_ROCM_TOOLKIT,
          ATTN_NVEMU_LIBRARY};
}

static std::string dtypeName(DType t) { return toString(t); }

BundleDesc mlir::attn::describeBundle(const AttentionSpec &spec,
                                      const std::string &name) {
  BundleDesc desc;
  desc.name = name;
  desc.spec = printSpec(spec);
  desc.args = bundleArgs(spec);
  desc.constants = {{"Hq", spec.hq}, {"Hk", spec.hk}, {"Hv", spec.hv},
                    {"Dqk", spec.dqk}, {"Dv", spec.dv}};
  if (spec.kind == OpKind::Linear)
    desc.constants.push_back({"F", spec.featureDim()});
  return desc;
}

std::vector<std::string>
mlir::attn::parseNvvmKernelOptions(StringRef text, NvvmKernelOptions &nvvm,
                                   std::string &error) {
  SmallVector<StringRef> words;
  text.split(words, ' ', -1, /*KeepEmpty=*/false);
  std::vector<std::string> given;
  for (StringRef word : words) {
    auto [key, value] = word.split('=');
    if (llvm::is_contained(given, key.str())) {
      error = "option '" + key.str() + "' given twice";
      return {};
    }
    // An integer option: `out` from the value if `valid`, else the error
    // says what was `expected`.
    auto integer = [&](int64_t &out, function_ref<bool(int64_t)> valid,
                       StringRef expected) {
      if (value.getAsInteger(10, out) || !valid(out)) {
        error = "option '" + word.str() + "' (expected " + expected.str() +
                ")";
        return false;
      }
      given.push_back(key.str());
      return true;
    };
    if (key == "persistent") {
      // A CTA count a launch can hold (the grid's x is below 2^31), or
      // the device's multiprocessors.
      if (value == "sm") {
        nvvm.persistentCtas = NvvmKernelOptions::kPersistentPerSM;
        given.push_back(key.str());
        continue;
      }
      if (!integer(
              nvvm.persistentCtas,
              [](int64_t n) { return n >= 0 && n <= 65536; },
              "persistent=N, N CTAs in [0, 65536] with 0 for one CTA per "
              "output tile, or persistent=sm, one per multiprocessor of the "
              "device"))
        return {};
      continue;
    }
    if (key == "producer-registers") {
      if (!integer(nvvm.producerRegisters, nvvmValidProducerRegisters,
                   "producer-registers=N, N a multiple of 8 in [24, 256): "
                   "the producer warpgroup's registers after setmaxnreg"))
        return {};
      continue;
    }
    bool *flag = key == "tma"               ? &nvvm.tma
                 : key == "warp-specialize" ? &nvvm.warpSpecialize
                 : key == "overlap"         ? &nvvm.overlap
                 : key == "pingpong"        ? &nvvm.pingpong
                 : key == "exp2-ftz"        ? &nvvm.exp2Ftz
                 : key == "emulation"       ? &nvvm.emulation
                                            : nullptr;
    if (!flag || (value != "0" && value != "1")) {
      error = "option '" + word.str() +
              "' (expected tma=0|1, warp-specialize=0|1, overlap=0|1, "
              "pingpong=0|1, exp2-ftz=0|1, emulation=0|1, "
              "persistent=N|sm or producer-registers=N)";
      return {};
    }
    *flag = value == "1";
    given.push_back(key.str());
  }
  if (nvvm.pingpong && !nvvm.warpSpecialize)
    error = "option pingpong=1 needs warp-specialize=1 (the math "
            "warpgroups beside the producer take turns)";
  if (nvvm.producerRegisters && !nvvm.warpSpecialize)
    error = "option producer-registers=N needs warp-specialize=1 (it is "
            "the producer warpgroup's share)";
  return given;
}

/// Whether the GPU kernel of `op` takes its chunk products on tensor cores.
static bool linearTensorCoresFor(LinearAttentionOp op) {
  std::optional<DType> dtype =
      dtypeOf(op.getQuery().getType().getElementType());
  return dtype && linearTensorCores(*dtype);
}

/// Linear attention: Sq = Skv = S, every tensor is sized by Sq (a launch's
/// Skv is not read).
static std::vector<BundleArg> linearBundleArgs(const AttentionSpec &spec) {
  std::string h = std::to_string(spec.hq), dt = dtypeName(spec.dtype);
  auto n = [](int64_t v) { return std::to_string(v); };
  std::vector<std::string> state = {
      "B", h, n(spec.featureDim()), n(spec.dv + (spec.normSum ? 1 : 0))};
  std::vector<BundleArg> args = {
      {"q", dt, {"B", h, "Sq", n(spec.dqk)}, false},
      {"k", dt, {"B", h, "Sq", n(spec.dqk)}, false},
      {"v", dt, {"B", h, "Sq", n(spec.dv)}, false}};
  if (spec.stateIn)
    args.push_back({"state_in", "f32", state, false});
  args.push_back({"o", dt, {"B", h, "Sq", n(spec.dv)}, true});
  if (spec.stateOut)
    args.push_back({"state_out", "f32", state, true});
  return args;
}

std::vector<BundleArg> mlir::attn::bundleArgs(const AttentionSpec &spec) {
  if (spec.kind == OpKind::Linear)
    return linearBundleArgs(spec);
  std::string hq = std::to_string(spec.hq), dt = dtypeName(spec.dtype);
  auto n = [](int64_t v) { return std::to_string(v); };
  std::vector<BundleArg> args = {
      {"q", dt, {"B", hq, "Sq", n(spec.dqk)}, false},
      {"k", dt, {"B", n(spec.hk), "Skv", n(spec.dqk)}, false},
      {"v", dt, {"B", n(spec.hv), "Skv", n(spec.dv)}, false}};
  if (spec.gate != GateKind::None)
    args.push_back({"gate", dt,
                    {"B", hq, "Sq",
                     spec.gate == GateKind::PerHead ? "1" : n(spec.dv)},
                    false});
  if (spec.bias)
    args.push_back({"bias", dt, {"B", hq, "Sq", "Skv"}, false});
  if (spec.usesDocument())
    args.push_back({"doc_ids", "i32", {"B", "Skv"}, false});
  if (const MaskSpec *m = spec.runtimeBlockMask())
    args.push_back({"block_mask", "i8",
                    {"B", hq, "ceil(Sq/" + n(m->blockQ) + ")",
                     "ceil(Skv/" + n(m->blockKV) + ")"},
                    false});
  args.push_back({"o", dt, {"B", hq, "Sq", n(spec.dv)}, true});
  if (spec.lse)
    args.push_back({"lse", "f32", {"B", hq, "Sq"}, true});
  return args;
}

/// Runs `program` with `args`; returns its exit code, stderr+stdout in `log`.
static int runTool(StringRef program, ArrayRef<StringRef> args,
                   std::string &log) {
  SmallString<128> logPath;
  llvm::sys::fs::createTemporaryFile("attn-tool", "log", logPath);
  std::optional<StringRef> redirects[] = {std::nullopt, StringRef(logPath),
                                          StringRef(logPath)};
  std::string err;
  int rc = llvm::sys::ExecuteAndWait(program, args, std::nullopt, redirects,
                                     0, 0, &err);
  if (auto buf = llvm::MemoryBuffer::getFile(logPath))
    log = (*buf)->getBuffer().str();
  log += err;
  llvm::sys::fs::remove(logPath);
  return rc;
}

static std::vector<uint8_t> readBytes(const std::string &path) {
  auto buf = llvm::MemoryBuffer::getFile(path, /*IsText=*/false);
  if (!buf)
    return {};
  StringRef data = (*buf)->getBuffer();
  return std::vector<uint8_t>(data.begin(), data.end());
}

/// clang lowers an fptrunc to bf16 (the emulated NVIDIA kernels' packing
/// of P; vector bf16 selects the x86 backend promotes to f32, which LLVM's
/// combines form from arith-expand's integer rounding) into this
/// compiler-rt call, which libgcc before 13 (Debian 12's) lacks, so every
/// shared object carries its own: round to nearest even, NaN kept quiet;
/// hidden, so it binds inside the object only. The bf16 goes back in the
/// low 16 bits of xmm0 (x86-64 ABI), returned as the float with those bits
/// (a __bf16 return would itself be lowered through __truncsfbf2).
static const char kBf16Builtins[] = R"(
__attribute__((visibility("hidden"))) float __truncsfbf2(float x) {
  unsigned int bits;
  __builtin_memcpy(&bits, &x, 4);
  unsigned int h = (bits & 0x7fffffffu) > 0x7f800000u
                       ? (bits >> 16) | 0x40u
                       : (bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16;
  float r;
  __builtin_memcpy(&r, &h, 4);
  return r;
}
)";

LogicalResult mlir::attn::buildSharedObject(ModuleOp lowered,
                                            const std::string &name,
                                            const std::string &soPath,
                                            const ToolPaths &tools,
                                            ArrayRef<std::string> extraArgs) {
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateModuleToLLVMIR(lowered, llvmContext, name);
  if (!llvmModule)
    return lowered.emitError() << "translation to LLVM IR failed";
  std::string llPath = soPath + ".ll";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(llPath, ec);
    if (ec)
      return lowered.emitError() << "cannot write " << llPath;
    llvmModule->print(os, nullptr);
  }
  std::string builtinsPath = soPath + ".builtins.c";
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(builtinsPath, ec);
    if (ec)
      return lowered.emitError() << "cannot write " << builtinsPath;
    os << kBf16Builtins;
  }
  std::string log;
  SmallVector<StringRef> args = {tools.clang,  "-O3", "-shared", "-fPIC",
                                 "-Wno-override-module", llPath,
                                 builtinsPath, "-o", soPath};
  for (const std::string &a : extraArgs)
    args.push_back(a);
  args.push_back("-lm");
  int rc = runTool(tools.clang, args, log);
  llvm::sys::fs::remove(llPath);
  llvm::sys::fs::remove(builtinsPath);
  if (rc != 0)
    return lowered.emitError() << "clang failed (" << tools.clang
                               << "): " << log;
  return success();
}

/// The payload of the (single) gpu.binary object.
static std::string binaryPayload(ModuleOp module) {
  std::string payload;
  module.walk([&](gpu::BinaryOp op) {
    for (Attribute a : op.getObjects())
      if (auto object = dyn_cast<gpu::ObjectAttr>(a))
        payload = object.getObject().str();
  });
  return payload;
}

/// Reads a field of the code object metadata in the AMDGPU assembly
/// (`.vgpr_count: 154`, `.private_segment_fixed_size: 0`, ...).
static int64_t asmStat(StringRef isa, StringRef key) {
  SmallVector<StringRef> m;
  if (llvm::Regex(("\\." + key + ":[ \t]+([0-9]+)").str()).match(isa, &m))
    return std::stoll(m[1].str());
  return -1;
}

/// The KV-splitting schedule of the (scheduled) attention op of a module:
/// stream-K's CTAs or split_kv's splits per output tile (both 0: flash).
struct KVSplitting {
  int64_t streamCtas = 0, splits = 0;

  explicit operator bool() const { return streamCtas || splits; }
  /// Share slots per worker (a stream-K range may start inside one tile
  /// and end inside another).
  int64_t slots() const { return splits ? 1 : 2; }
  const char *kernelSuffix() const { return splits ? "+split-kv" : "+stream-k"; }
  /// The workers as a grid / work-item formula: stream-K's CTAs, or a
  /// split of each output tile (`outputTiles`, a formula).
  std::string workers(const std::string &outputTiles) const {
    return splits ? outputTiles + "*" + std::to_string(splits)
                  : std::to_string(streamCtas);
  }
  /// The workspace: for each worker `counterBytes` of arrival counters
  /// (all counters first; the part that must start zeroed), then slots()
  /// share slots of `slotBytes` (a formula) each. A split_kv(1) worker
  /// finishes its tile in place and never touches the workspace: one word,
  /// for the kernel's argument.
  std::string bytes(int64_t counterBytes, const std::string &slotBytes,
                    const std::string &outputTiles) const {
    if (splits == 1)
      return "4";
    std::string slotsBytes =
        slots() == 1 ? slotBytes : std::to_string(slots()) + "*" + slotBytes;
    return workers(outputTiles) + "*(" + std::to_string(counterBytes) + "+" +
           slotsBytes + ")";
  }
  /// The zeroed prefix of `bytes`: the counters.
  std::string zeroBytes(int64_t counterBytes,
                        const std::string &outputTiles) const {
    if (splits == 1)
      return "4";
    if (!splits)
      return std::to_string(counterBytes * streamCtas);
    return std::to_string(counterBytes) + "*" + workers(outputTiles);
  }
};

/// The GPU linear-attention kernel's launch (grid, workspace) on `k`: a
/// block per (column chunk x sequence segment, head, batch entry).
static void setLinearLaunch(BundleKernel &k, LinearAttentionOp op) {
  TilingAttr tiling = op.getTilingAttr();
  int64_t dv = op.getValue().getType().getDimSize(3);
  int64_t heads = op.getQuery().getType().getDimSize(1);
  int64_t chunks = linearGpuColumnChunks(dv, tiling.getBlockKv());
  int64_t segments = linearSegmentsOf(op);
  k.gridX = std::to_string(chunks * segments);
  k.gridY = std::to_string(heads);
  k.gridZ = "B";
  if (segments == 1)
    return;
  int64_t cols =
      std::min(tiling.getBlockKv(), dv) + (op.getNormalize() ? 1 : 0);
  LinearGpuWorkspace ws = linearGpuWorkspace(
      heads, chunks, segments, op.getCausal(), op.getFeatureDim(), cols);
  k.workspaceBytes = "B*" + std::to_string(4 * ws.words);
  k.workspaceZeroBytes = "B*" + std::to_string(4 * ws.zeroedWords);
}

static KVSplitting kvSplittingOf(ModuleOp module) {
  KVSplitting s;
  module.walk([&](AttentionOp op) {
    if (ScheduleAttr schedule = op.getScheduleAttr()) {
      if (schedule.getKind() == ScheduleStrategy::stream_k)
        s.streamCtas = schedule.getParam();
      else if (schedule.getKind() == ScheduleStrategy::split_kv)
        s.splits = schedule.getParam();
    }
  });
  return s;
}

/// Query heads per packed tile group (pack_gqa) of the attention op of
/// `module`; 1 when heads are not packed.
static int64_t packGroup(ModuleOp module) {
  int64_t group = 1;
  module.walk([&](AttentionOp op) {
    if (op.packsHeads())
      group = op.getPackGroup();
  });
  return group;
}

/// Rows of a head, or of a packed group of `group` heads: Sq or G*Sq.
static std::string groupRowsFormula(int64_t group) {
  return group > 1 ? std::to_string(group) + "*Sq" : "Sq";
}

/// Query tiles per head, or per packed group of `group` heads:
/// ceil(Sq/BQ) or ceil(G*Sq/BQ) (a grid dimension or work-item factor).
static std::string queryTilesFormula(int64_t group, int64_t blockQ) {
  return "ceil(" + groupRowsFormula(group) + "/" + std::to_string(blockQ) +
         ")";
}

/// The most rows of any output tile (the kernels' tileRowsAtMost), which a
/// stream-K / split_kv share slot holds: min(BQ, G*Sq).
static std::string tileRowsAtMostFormula(int64_t group, int64_t blockQ) {
  return "min(" + std::to_string(blockQ) + "," + groupRowsFormula(group) +
         ")";
}

/// Bytes of a GPU stream-K / split_kv share slot: `stateWords` f32 words
/// for each of `groups` worker groups (Dv chunks) and each thread of the
/// row groups holding rows (the kernels' publishingThreads).
static std::string gpuShareSlotBytes(int64_t groups, int64_t stateWords,
                                     RowGroup rowGroup, int64_t group,
                                     int64_t blockQ) {
  return std::to_string(4 * groups * stateWords * rowGroup.threads) +
         "*ceil(" + tileRowsAtMostFormula(group, blockQ) + "/" +
         std::to_string(rowGroup.rows) + ")";
}

/// Whether the NVIDIA kernel is the mma.sync one whatever the chip:
/// stream-K, packed heads and KV warps are (decode tiles are too short for
/// wgmma), and so are head dims wgmma cannot step over (nvvmWgmmaHeadDims).
static bool nvvmMmaSyncOnly(ModuleOp module) {
  bool wgmmaDims = true, kvWarps = false;
  module.walk([&](AttentionOp op) {
    wgmmaDims &= nvvmWgmmaHeadDims(op.getHeadDimQK(), op.getHeadDimV());
    if (TilingAttr t = op.getTilingAttr())
      kvWarps |= nvvmKVWarps(t.getBlockQ(), t.getWarps()) > 1;
  });
  return bool(kvSplittingOf(module)) || packGroup(module) > 1 || !wgmmaDims ||
         kvWarps;
}

static FailureOr<std::vector<BundleKernel>>
compileCpu(ModuleOp module, const std::string &name, const ToolPaths &tools,
           bool countTiles) {
  int64_t blockQ = 0;
  int64_t hq = 0;
  PassManager select(module.getContext());
  select.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{"cpu"}));
  if (failed(select.run(module)))
    return failure();
  bool linear = false;
  KVSplitting splitting = kvSplittingOf(module);
  int64_t dv = 0, group = packGroup(module);
  // A split linear sequence: its segments' work items and workspace (the
  // GPU kernel's layout with one column chunk).
  int64_t segments = 1;
  LinearGpuWorkspace linearWorkspace;
  module.walk([&](Operation *op) {
    if (auto attn = dyn_cast<AttentionOp>(op)) {
      blockQ = attn.getTilingAttr().getBlockQ();
      hq = attn.getNumQueryHeads();
      dv = attn.getHeadDimV();
    } else if (auto lin = dyn_cast<LinearAttentionOp>(op)) {
      linear = true;
      hq = lin.getQuery().getType().getDimSize(1);
      segments = linearSegmentsOf(lin);
      linearWorkspace = linearGpuWorkspace(
          hq, 1, segments, lin.getCausal(), lin.getFeatureDim(),
          lin.getValue().getType().getDimSize(3) +
              (lin.getNormalize() ? 1 : 0));
    }
  });
  CPUPipelineOptions options;
  options.countTiles = countTiles;
  PassManager pm(module.getContext());
  buildAttnToCPUPipeline(pm, options);
  if (failed(pm.run(module)))
    return failure();
  SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("attn-cpu", dir))
    return module.emitError() << "cannot create a temporary directory";
  std::string soPath = (dir + "/" + name + ".cpu.so").str();
  if (failed(buildSharedObject(module, name, soPath, tools)))
    return failure();
  BundleKernel k;
  k.target = "cpu";
  k.format = "so";
  k.file = name + ".cpu.so";
  k.binary = readBytes(soPath);
  k.entry = "_mlir_ciface_" + name;
  // Linear attention: one work item per (batch, head), which walks its
  // chunks in order (the state carries from one to the next).
  k.workItems = "B*" + std::to_string(hq / group);
  if (!linear)
    k.workItems += "*" + queryTilesFormula(group, blockQ);
  if (segments > 1) {
    k.workItems = "B*" + std::to_string(hq * segments);
    k.workspaceBytes = "B*" + std::to_string(4 * linearWorkspace.words);
    k.workspaceZeroBytes =
        "B*" + std::to_string(4 * linearWorkspace.zeroedWords);
  }
  if (splitting) {
    // Stream-K / split_kv: one work item per worker; per worker an arrival
    // counter and (acc, m, l) partial slots of a tile's rows at most
    // (convert-attn-to-tiles).
    std::string tiles = k.workItems;
    k.workItems = splitting.workers(tiles);
    k.workspaceBytes = splitting.bytes(
        4, std::to_string(4 * (dv + 2)) + "*" + tileRowsAtMostFormula(group, blockQ),
        tiles);
    k.workspaceZeroBytes = splitting.zeroBytes(4, tiles);
    k.workspaceZeroOnExit = true;
  }
  llvm::sys::fs::remove_directories(dir);
  return std::vector<BundleKernel>{k};
}

/// Whether the sm_90a pipeline takes the TMA kernel for this function.
static bool usesTma(const std::string &target, const NvvmKernelOptions &nvvm,
                    int64_t dqk, int64_t dv, int64_t eltBytes) {
  return nvvmUsesWgmma(target) && nvvm.tma && nvvmUsesTma(dqk, dv, eltBytes);
}

/// `module` (not lowered yet; it is modified) as a shared object for the
/// emulator (tools/nvemu), lowered by `pipeline`: the target's pipeline,
/// then its attn-*-to-host pass.
static FailureOr<std::vector<uint8_t>>
buildEmulation(ModuleOp module, function_ref<void(OpPassManager &)> pipeline,
               const std::string &name, const ToolPaths &tools) {
  PassManager pm(module.getContext());
  pipeline(pm);
  if (failed(pm.run(module)))
    return failure();
  SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("attn-nvemu", dir))
    return module.emitError() << "cannot create a temporary directory";
  std::string so = (dir + "/k.so").str();
  LogicalResult built = buildSharedObject(module, name, so, tools,
                                          {tools.nvemuLibrary, "-lstdc++"});
  std::vector<uint8_t> bytes;
  if (succeeded(built))
    bytes = readBytes(so);
  llvm::sys::fs::remove_directories(dir);
  if (failed(built))
    return failure();
  return bytes;
}

/// One NVIDIA build of `module`, already through attn-select-schedule for
/// `target` (compileNvvm).
static FailureOr<std::vector<BundleKernel>>
compileNvvmOnce(ModuleOp module, const std::string &target,
                const std::string &name, const ToolPaths &tools,
                const NvvmKernelOptions &nvvm, int64_t producerRegisters,
                bool final = true) {
  NVVMPipelineOptions options;
  options.chip = target;
  options.tma = nvvm.tma;
  options.warpSpecialize = nvvm.warpSpecialize;
  options.overlap = nvvm.overlap;
  options.pingpong = nvvm.pingpong;
  options.persistent = nvvm.persistentCtas != 0;
  options.producerRegisters = producerRegisters;
  options.exp2Ftz = nvvm.exp2Ftz;
  PassManager pm(module.getContext());
  buildAttnToNVVMPipeline(pm, options);
  // Launch geometry from the tiling and schedule compileNvvm selected (the
  // pipeline's own attn-select-schedule keeps them).
  int64_t blockQ = 0, warps = 0, hq = 0, dv = 0, eltBytes = 2, dqk = 0,
          blockKV = 0, stages = 0;
  Location opLoc = module.getLoc();
  {
    module.walk([&](AttentionOp op) {
      opLoc = op.getLoc();
      blockQ = op.getTilingAttr().getBlockQ();
      warps = op.getTilingAttr().getWarps();
      hq = op.getNumQueryHeads();
      dv = op.getHeadDimV();
      dqk = op.getHeadDimQK();
      blockKV = op.getTilingAttr().getBlockKv();
      stages = op.getTilingAttr().getStages();
      eltBytes = op.getQuery().getType().getElementType().getIntOrFloatBitWidth() / 8;
    });
  }
  KVSplitting splitting = kvSplittingOf(module);
  int64_t group = packGroup(module);
  bool mmaSyncOnly = nvvmMmaSyncOnly(module);
  // Linear attention: one block per (batch, head, column chunk), the chunk
  // buffers and the state in dynamic shared memory (LinearGpuKernel.cpp).
  std::optional<BundleKernel> linear;
  module.walk([&](LinearAttentionOp op) {
    TilingAttr tiling = op.getTilingAttr();
    LinearGpuProblem problem =
        linearGpuProblemOf(op, TargetKind::NVVM, tiling.getBlockKv());
    BundleKernel k;
    setLinearLaunch(k, op);
    k.blockX = 32 * tiling.getWarps();
    k.dynamicSmemBytes = linearGpuSmemBytes(problem, tiling.getBlockQ());
    k.tile = {tiling.getBlockQ(), tiling.getBlockKv(), tiling.getWarps(),
              tiling.getStages()};
    k.kernel = linearTensorCoresFor(op) ? "mma.sync-linear" : "simt-linear";
    linear = k;
  });
  OwningOpRef<ModuleOp> source;
  if (nvvm.emulation)
    source = module.clone();
  if (failed(pm.run(module)))
    return failure();
  GpuModuleToBinaryPassOptions binary;
  binary.toolkitPath = tools.cudaToolkit;
  binary.compilationTarget = "isa";
  PassManager toBinary(module.getContext());
  toBinary.addPass(createGpuModuleToBinaryPass(binary));
  if (failed(toBinary.run(module)))
    return failure();
  std::string ptx = binaryPayload(module);
  if (ptx.empty())
    return module.emitError() << "no PTX was produced for " << target;
  // No external functions may survive: everything the kernel calls must be
  // inlined (libdevice) or an intrinsic.
  if (StringRef(ptx).contains(".extern .func"))
    return module.emitError() << "PTX for " << target
                              << " calls an external function";

  BundleKernel k = linear.value_or(BundleKernel());
  k.target = target;
  k.entry = name;
  k.paramAbi = "flat-memref";
  if (!linear) {
    // A packed tile holds rows of `group` heads.
    k.gridX = queryTilesFormula(group, blockQ);
    k.gridY = std::to_string(hq / group * nvvmDvChunks(dv, eltBytes));
    k.gridZ = "B";
    k.blockX = 32 * warps;
    bool tma = !mmaSyncOnly && usesTma(target, nvvm, dqk, dv, eltBytes);
    if (tma) {
      k.blockX = nvvmBlockThreads(warps, nvvm.warpSpecialize);
      // The Q, K, V tensor maps of the TMA kernel, in its parameter order.
      k.paramAbi = "flat-memref+tma";
      for (auto [arg, rows] : {std::pair<const char *, int64_t>{"q", blockQ},
                               {"k", blockKV},
                               {"v", blockKV}})
        k.tensorMaps.push_back({arg, {64, rows, 1, 1}, /*swizzle=*/128});
    }
    bool wgmma = nvvmUsesWgmma(target) && eltBytes == 2 && !mmaSyncOnly;
    k.dynamicSmemBytes =
        nvvmKernelSmemBytes(dqk, dv, blockQ, blockKV, stages, eltBytes, wgmma,
                            tma, warps, group, static_cast<bool>(splitting));
    k.tile = {blockQ, blockKV, warps, stages};
    k.kernel = eltBytes == 4                ? "simt"
               : !wgmma                     ? "mma.sync"
               : !tma                       ? "wgmma+cp.async"
               : !nvvm.warpSpecialize       ? "wgmma+tma"
                                            : "wgmma+tma+producer";
    if (group > 1)
      k.kernel += "+pack-gqa";
    if (!nvvm.exp2Ftz)
      k.kernel += "+plain-exp2";
    if (splitting) {
      // Stream-K / split_kv: the CTAs of each Dv chunk share the (output
      // tile x KV tile) units; the runtime allocates their workspace per
      // launch, counters zeroed.
      std::string tiles = "B*" + std::to_string(hq / group) + "*" + k.gridX;
      int64_t chunks = nvvmDvChunks(dv, eltBytes);
      k.kernel += splitting.kernelSuffix();
      k.gridX = splitting.workers(tiles);
      k.gridY = std::to_string(chunks);
      k.gridZ = "1";
      k.workspaceBytes = splitting.bytes(
          4 * chunks,
          gpuShareSlotBytes(chunks, nvvmStreamKStateWords(dv, eltBytes),
                            nvvmStreamKRowGroup(eltBytes), group, blockQ),
          tiles);
      k.workspaceZeroBytes = splitting.zeroBytes(4 * chunks, tiles);
      k.workspaceZeroOnExit = true;
    }
    if (tma && nvvm.warpSpecialize) {
      k.producerRegisters = producerRegisters;
      if (nvvm.overlap)
        k.kernel += "+overlap";
      if (nvvm.pingpong)
        k.kernel += "+pingpong";
      if (nvvm.persistentCtas != 0) {
        // The CTAs walk the output tiles (forEachItem), so any grid is
        // correct; more than the tiles would only idle.
        k.kernel += "+persistent";
        k.gridX = "min(B*" + std::to_string(hq / group) + "*" +
                  std::to_string(nvvmDvChunks(dv, eltBytes)) + "*" + k.gridX +
                  "," +
                  (nvvm.persistentCtas == NvvmKernelOptions::kPersistentPerSM
                       ? std::string(attn_rt::kMultiprocessors)
                       : std::to_string(nvvm.persistentCtas)) +
                  ")";
        k.gridY = k.gridZ = "1";
      }
    }
  }
  // The schedule sizes tiles by an estimate of the K / V stages; these are
  // the kernel's own bytes (staged Q, merge slots, alignment), and a kernel
  // the target could not launch is refused here.
  std::optional<TargetInfo> info = lookupTarget(target);
  if (info && k.dynamicSmemBytes > info->sharedMemBytes)
    return emitError(opLoc)
           << "the " << target << " kernel (" << k.kernel
           << ", tile=" << k.tileName() << ") needs " << k.dynamicSmemBytes
           << " bytes of shared memory but " << target << " offers "
           << info->sharedMemBytes << "; lower block_kv or stages";
  BundleKernel ptxKernel = k;
  ptxKernel.format = "ptx";
  ptxKernel.file = name + "." + target + ".ptx";
  ptxKernel.binary.assign(ptx.begin(), ptx.end());

  SmallString<128> dir;
  if (llvm::sys::fs::createUniqueDirectory("attn-nvvm", dir))
    return module.emitError() << "cannot create a temporary directory";
  std::string ptxPath = (dir + "/k.ptx").str(),
              cubinPath = (dir + "/k.cubin").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(ptxPath, ec);
    os << ptx;
  }
  std::string arch = "-arch=" + target, log;
  SmallVector<StringRef> args = {tools.ptxas, arch, "-v", ptxPath, "-o",
                                 cubinPath};
  if (runTool(tools.ptxas, args, log) != 0) {
    llvm::sys::fs::remove_directories(dir);
    return module.emitError() << "ptxas failed (" << tools.ptxas
                              << "): " << log;
  }
  BundleKernel cubin = k;
  cubin.format = "cubin";
  cubin.file = name + "." + target + ".cubin";
  cubin.binary = readBytes(cubinPath);
  readPtxasReport(log, cubin);
  ptxKernel.registers = cubin.registers;
  ptxKernel.spillBytes = cubin.spillBytes;
  ptxKernel.scratchBytes = cubin.scratchBytes;
  ptxKernel.ptxasWgmmaNotes = cubin.ptxasWgmmaNotes;
  llvm::sys::fs::remove_directories(dir);
  // A spilling trial of the warp-specialized kernel is discarded: no
  // emulation for it.
  if (source && (final || cubin.spillBytes == 0)) {
    // The NVVM ops without an LLVM intrinsic stay ops instead of becoming
    // inline PTX (the emulator implements them).
    NVVMPipelineOptions hostOptions;
    hostOptions.copyOptionValuesFrom(options);
    hostOptions.inlinePtx = false;
    FailureOr<std::vector<uint8_t>> so = buildEmulation(
        *source,
        [&](OpPassManager &pm) {
          buildAttnToNVVMPipeline(pm, hostOptions);
          pm.addPass(createAttnNVVMToHost());
        },
        name, tools);
    if (failed(so))
      return failure();
    ptxKernel.emulation = *so;
    cubin.emulation = std::move(*so);
  }
  return std::vector<BundleKernel>{ptxKernel, cubin};
}

/// Whether ptxas reported spills for a cubin of `kernels`.
static bool spills(const std::vector<BundleKernel> &kernels) {
  return llvm::any_of(kernels, [](const BundleKernel &k) {
    return k.format == "cubin" && k.spillBytes != 0;
  });
}

/// The exp2 forms a build tries, fastest first: `nvvm`'s, then (where that
/// is ex2.approx.ftz and `plainToo`) llvm.exp2's ex2.approx. The PTX differs
/// only in that instruction, but ptxas schedules the one-instruction form
/// more eagerly, and at the edge of the register file that can spill where
/// the longer sequence does not (the prefill matrix has such kernels).
static SmallVector<NvvmKernelOptions, 2>
exp2Forms(const NvvmKernelOptions &nvvm, bool plainToo = true) {
  SmallVector<NvvmKernelOptions, 2> forms = {nvvm};
  if (nvvm.exp2Ftz && plainToo) {
    forms.push_back(nvvm);
    forms.back().exp2Ftz = false;
  }
  return forms;
}

/// The kernels of the first build that ptxas compiles without spills, each
/// compiled from a copy of `module`: per exp2 form (exp2Forms), the
/// warp-specialized kernel tries the first `splits` of
/// kNvvmProducerRegisterChoices, any other kernel its one build; nullopt
/// when every build spills.
static FailureOr<std::optional<std::vector<BundleKernel>>>
compileWithoutSpills(ModuleOp module, const std::string &target,
                     const std::string &name, const ToolPaths &tools,
                     const NvvmKernelOptions &nvvm, bool warpSpecialized,
                     size_t splits = std::size(kNvvmProducerRegisterChoices),
                     bool plainExp2Too = true) {
  ArrayRef<int64_t> producers(kNvvmProducerRegisterChoices);
  producers = producers.take_front(warpSpecialized ? splits : 1);
  if (warpSpecialized && nvvm.producerRegisters)
    producers = ArrayRef<int64_t>(nvvm.producerRegisters);
  for (const NvvmKernelOptions &form : exp2Forms(nvvm, plainExp2Too)) {
    for (int64_t producer : producers) {
      OwningOpRef<ModuleOp> copy = cast<ModuleOp>(module->clone());
      FailureOr<std::vector<BundleKernel>> kernels =
          compileNvvmOnce(*copy, target, name, tools, form, producer,
                          /*final=*/false);
      if (failed(kernels))
        return failure();
      if (!spills(*kernels))
        return std::optional<std::vector<BundleKernel>>(std::move(*kernels));
    }
  }
  return std::optional<std::vector<BundleKernel>>();
}

/// The one build of a kernel without register splits: the first exp2 form
/// ptxas compiles without spills, else `nvvm`'s (which reports its spills).
static FailureOr<std::vector<BundleKernel>>
compileNvvmFinal(ModuleOp module, const std::string &target,
                 const std::string &name, const ToolPaths &tools,
                 const NvvmKernelOptions &nvvm) {
  FailureOr<std::optional<std::vector<BundleKernel>>> kernels =
      compileWithoutSpills(module, target, name, tools, nvvm,
                           /*warpSpecialized=*/false);
  if (failed(kernels))
    return failure();
  if (*kernels)
    return std::move(**kernels);
  return compileNvvmOnce(module, target, name, tools, nvvm,
                         kNvvmProducerRegisterChoices[0]);
}

/// The NVIDIA kernels. Where the cost model chose the tiles, the wider KV
/// tile of nvvmWiderTiles is tried first and kept if ptxas reports no
/// spills. The warp-specialized kernel is tried with each register split
/// of kNvvmProducerRegisterChoices until ptxas reports no spills, then
/// without the producer warpgroup.
static FailureOr<std::vector<BundleKernel>>
compileNvvm(ModuleOp module, const std::string &target,
            const std::string &name, const ToolPaths &tools,
            const NvvmKernelOptions &nvvm) {
  int64_t dqk = 0, dv = 0, eltBytes = 2;
  AttentionOp attention;
  module.walk([&](AttentionOp op) {
    attention = op;
    dqk = op.getHeadDimQK();
    dv = op.getHeadDimV();
    eltBytes = op.getQuery().getType().getElementType().getIntOrFloatBitWidth() / 8;
  });
  bool userTiling = attention && attention.getTilingAttr();
  // Tiles and schedule once, for every trial below (compileNvvmOnce reads
  // them; copies inherit them).
  PassManager select(module.getContext());
  select.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{target}));
  if (failed(select.run(module)))
    return failure();
  bool linear = false;
  module.walk([&](LinearAttentionOp) { linear = true; });
  bool mmaSyncOnly = nvvmMmaSyncOnly(module);
  bool tma = !mmaSyncOnly && usesTma(target, nvvm, dqk, dv, eltBytes);
  bool warpSpecialized = nvvm.warpSpecialize && !linear && tma;
  if (attention && !userTiling && !kvSplittingOf(module)) {
    TilingAttr t = attention.getTilingAttr();
    std::optional<TileChoice> wide = nvvmWiderTiles(
        *lookupTarget(target),
        {t.getBlockQ(), t.getBlockKv(), t.getWarps(), t.getStages()}, dqk,
        dv, eltBytes, nvvmUsesWgmma(target) && !mmaSyncOnly, tma,
        packGroup(module));
    if (wide) {
      attention.setTilingAttr(TilingAttr::get(module.getContext(),
                                              wide->blockQ, wide->blockKV,
                                              wide->warps, wide->stages));
      FailureOr<std::optional<std::vector<BundleKernel>>> kernels;
      {
        // A trial only: whatever keeps the wider tile from compiling, the
        // cost model's tile below reports it again if it shares the cause.
        ScopedDiagnosticHandler quiet(module.getContext(),
                                      [](Diagnostic &) { return success(); });
        // The warp-specialized kernel tries the default split (72) and the
        // one that leaves the math warpgroups the most registers (24):
        // over the prefill matrix every wider tile that fits fits under
        // one of them (measured with ex2.approx, before 13d5373), and the
        // others cost a compile each where none does.
        // The persistent and overlapped kernels (opt-in) try every split:
        // their producers and math warps sit closer to the edge (at head
        // dim 128 the overlapped 128 x 128 tile spilled under 72 and 24
        // and fitted under 40 before 32-bit partial-tile masks).
        // A wider tile that fits only with the plain exp2 gives way to the
        // cost model's tile (and a trial costs one compile less).
        kernels = compileWithoutSpills(
            module, target, name, tools, nvvm, warpSpecialized,
            nvvm.persistentCtas || nvvm.overlap
                ? std::size(kNvvmProducerRegisterChoices)
                : 2,
            /*plainExp2Too=*/false);
      }
      if (succeeded(kernels) && *kernels)
        return std::move(**kernels);
      attention.setTilingAttr(t);
    }
  }
  if (!warpSpecialized)
    return compileNvvmFinal(module, target, name, tools, nvvm);
  FailureOr<std::optional<std::vector<BundleKernel>>> kernels =
      compileWithoutSpills(module, target, name, tools, nvvm,
                           /*warpSpecialized=*/true);
  if (failed(kernels))
    return failure();
  if (*kernels)
    return std::move(**kernels);
  NvvmKernelOptions single = nvvm;
  single.warpSpecialize = false;
  llvm::errs() << "attn-compile: note: @" << name << " " << target
               << ": the warp-specialized kernel"
               << (nvvm.overlap ? " (overlap)" : "")
               << " spills with every producer share and exp2 form; using "
                  "the TMA kernel without a producer warpgroup\n";
  return compileNvvmFinal(module, target, name, tools, single);
}

static FailureOr<std::vector<BundleKernel>>
compileRocdl(ModuleOp module, const std::string &target,
             const std::string &name, const ToolPaths &tools,
             bool emulation) {
  int64_t blockQ = 0, warps = 0, hq = 0, blockKV = 0, stages = 0, dv = 0;
  PassManager select(module.getContext());
  select.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{target}));
  if (failed(select.run(module)))
    return failure();
  module.walk([&](AttentionOp op) {
    blockQ = op.getTilingAttr().getBlockQ();
    warps = op.getTilingAttr().getWarps();
    blockKV = op.getTilingAttr().getBlockKv();
    stages = op.getTilingAttr().getStages();
    hq = op.getNumQueryHeads();
    dv = op.getHeadDimV();
  });
  int64_t group = packGroup(module);
  KVSplitting splitting = kvSplittingOf(module);
  // Linear attention: one workgroup per (batch, head, column chunk).
  int64_t linearColumnChunks = 0;
  bool linearMfma = false;
  BundleKernel linearLaunch;
  module.walk([&](LinearAttentionOp op) {
    linearMfma = linearTensorCoresFor(op);
    setLinearLaunch(linearLaunch, op);
    TilingAttr tiling = op.getTilingAttr();
    blockQ = tiling.getBlockQ(), blockKV = tiling.getBlockKv();
    warps = tiling.getWarps(), stages = tiling.getStages();
    hq = op.getQuery().getType().getDimSize(1);
    linearColumnChunks = linearGpuColumnChunks(
        op.getValue().getType().getDimSize(3), tiling.getBlockKv());
  });
  ROCDLPipelineOptions options;
  options.chip = target;
  OwningOpRef<ModuleOp> source;
  if (emulation)
    source = module.clone();
  PassManager pm(module.getContext());
  buildAttnToROCDLPipeline(pm, options);
  if (failed(pm.run(module)))
    return failure();
  // Assembly (for the resource report) from a copy, the HSACO (linked by
  // lld) from the module itself.
  OwningOpRef<ModuleOp> isaCopy = cast<ModuleOp>(module->clone());
  GpuModuleToBinaryPassOptions isaOptions;
  isaOptions.compilationTarget = "isa";
  PassManager toIsa(module.getContext());
  toIsa.addPass(createGpuModuleToBinaryPass(isaOptions));
  if (failed(toIsa.run(*isaCopy)))
    return failure();
  std::string isa = binaryPayload(*isaCopy);
  GpuModuleToBinaryPassOptions binOptions;
  binOptions.compilationTarget = "bin";
  binOptions.toolkitPath = tools.rocmToolkit;
  PassManager toBin(module.getContext());
  toBin.addPass(createGpuModuleToBinaryPass(binOptions));
  if (failed(toBin.run(module)))
    return failure();
  std::string hsaco = binaryPayload(module);
  if (hsaco.empty())
    return module.emitError() << "no HSACO was produced for " << target;
  if (StringRef(isa).contains("__ocml") || StringRef(isa).contains("s_swappc"))
    return module.emitError() << "AMDGPU code for " << target
                              << " calls a device-library function";
  BundleKernel k;
  k.target = target;
  k.format = "hsaco";
  k.file = name + "." + target + ".hsaco";
  k.binary.assign(hsaco.begin(), hsaco.end());
  k.entry = name;
  k.gridX = queryTilesFormula(group, blockQ);
  k.gridY = std::to_string(hq / group);
  k.gridZ = "B";
  k.blockX = 64 * warps;
  k.paramAbi = "flat-memref";
  k.kernel = group > 1 ? "mfma+pack-gqa" : "mfma";
  if (splitting) {
    // Stream-K / split_kv: the workgroups share the (output tile x KV tile)
    // units; the runtime allocates their workspace per launch, counters
    // zeroed.
    std::string tiles = "B*" + std::to_string(hq / group) + "*" + k.gridX;
    k.kernel += splitting.kernelSuffix();
    k.gridX = splitting.workers(tiles);
    k.gridY = k.gridZ = "1";
    k.workspaceBytes = splitting.bytes(
        4,
        gpuShareSlotBytes(1, amdgpuStreamKStateWords(dv),
                          amdgpuStreamKRowGroup(), group, blockQ),
        tiles);
    k.workspaceZeroBytes = splitting.zeroBytes(4, tiles);
    k.workspaceZeroOnExit = true;
  }
  if (linearColumnChunks) {
    k.gridX = linearLaunch.gridX;
    k.gridZ = linearLaunch.gridZ;
    k.workspaceBytes = linearLaunch.workspaceBytes;
    k.workspaceZeroBytes = linearLaunch.workspaceZeroBytes;
    k.kernel = linearMfma ? "mfma-linear" : "simt-linear";
  }
  k.tile = {blockQ, blockKV, warps, stages};
  k.registers = asmStat(isa, "vgpr_count");
  k.scratchBytes = asmStat(isa, "private_segment_fixed_size");
  // Spilled VGPRs land in scratch; report both so "0 scratch" is checkable.
  k.spillBytes = asmStat(isa, "vgpr_spill_count");
  if (k.spillBytes > 0)
    k.spillBytes *= 4;
  k.dynamicSmemBytes = 0;
  k.staticSmemBytes = std::max<int64_t>(0, asmStat(isa, "group_segment_fixed_size"));
  if (source) {
    FailureOr<std::vector<uint8_t>> so = buildEmulation(
        *source,
        [&](OpPassManager &pm) {
          buildAttnToROCDLPipeline(pm, options);
          pm.addPass(createAttnROCDLToHost());
        },
        name, tools);
    if (failed(so))
      return failure();
    k.emulation = std::move(*so);
  }
  return std::vector<BundleKernel>{k};
}

FailureOr<std::vector<BundleKernel>>
mlir::attn::compileForTarget(ModuleOp module, const std::string &target,
                             const std::string &name, const ToolPaths &tools,
                             bool countTiles, const NvvmKernelOptions &nvvm) {
  std::optional<TargetInfo> info = lookupTarget(target);
  if (!info)
    return module.emitError() << "unknown target '" << target << "' (known: "
                              << llvm::join(knownTargets(), ", ") << ")";
  // The name becomes the kernel symbol, the file names and the header's C
  // functions; LLVM's backends abort on some characters, so refuse first.
  if (!isCIdentifier(name)) {
    Operation *at = module;
    module.walk([&](func::FuncOp fn) {
      if (fn.getSymName() == name)
        at = fn;
    });
    return at->emitError() << "kernel name '" << name
                           << "' must be a C identifier ([A-Za-z_][A-Za-z0-9_]*): "
                              "it names the kernel symbol, the files and the "
                              "header's functions";
  }
  switch (info->kind) {
  case TargetKind::CPU:
    return compileCpu(module, name, tools, countTiles);
  case TargetKind::NVVM:
    return compileNvvm(module, target, name, tools, nvvm);
  case TargetKind::ROCDL:
    return compileRocdl(module, target, name, tools, nvvm.emulation);
  }
  return failure();
}

/// One line per GPU binary: registers, spills / scratch and an occupancy
/// estimate (NVIDIA: resident warps per SM, nvvmResidentCtas; AMD: waves
/// per SIMD, amdgpuResidentWavesPerSimd): registers, shared memory / LDS
/// and slots, whichever binds. Then a note for each of ptxas's wgmma
/// pipeline infos.
static void printResourceReport(const BundleDesc &desc) {
  for (const BundleKernel &k : desc.kernels) {
    if (k.format != "cubin" && k.format != "hsaco")
      continue;
    llvm::outs() << "attn-compile: @" << desc.name << " " << k.target << " "
                 << k.format << " registers=" << k.registers
                 << " spill_bytes=" << k.spillBytes
                 << " scratch_bytes=" << k.scratchBytes
                 << " smem_bytes=" << k.staticSmemBytes + k.dynamicSmemBytes;
    if (!k.kernel.empty())
      llvm::outs() << " kernel=" << k.kernel << " tile=" << k.tileName();
    int64_t smem = k.staticSmemBytes + k.dynamicSmemBytes;
    int64_t threads = k.blockX * k.blockY * k.blockZ;
    std::optional<TargetInfo> info = lookupTarget(k.target);
    if (k.registers > 0 && k.format == "cubin" && info) {
      int64_t ctas = nvvmResidentCtas(*info, threads, k.registers, smem);
      llvm::outs() << " occupancy=" << ctas * ((threads + 31) / 32)
                   << " warps/SM";
    } else if (k.registers > 0) {
      llvm::outs() << " occupancy="
                   << amdgpuResidentWavesPerSimd((threads + 63) / 64,
                                                 k.registers, smem)
                   << " waves/SIMD";
    }
    llvm::outs() << "\n";
    for (const std::string &note : k.ptxasWgmmaNotes)
      llvm::errs() << "attn-compile: note: @" << desc.name << " " << k.target
                   << ": ptxas " << note << "\n";
  }
}

LogicalResult mlir::attn::compileBundle(ModuleOp module,
                                        const std::string &targets,
                                        const std::string &emitDir,
                                        const ToolPaths &tools,
                                        const NvvmKernelOptions &nvvm) {
  SmallVector<std::pair<func::FuncOp, Operation *>> functions;
  for (auto fn : module.getOps<func::FuncOp>())
    for (Operation &op : fn.getOps())
      if (isa<AttentionOp, LinearAttentionOp>(op)) {
        functions.push_back({fn, &op});
        break;
      }
  if (functions.empty())
    return module.emitError()
           << "no function holds an attn.attention or attn.linear_attention";
  SmallVector<StringRef> targetList;
  StringRef(targets).split(targetList, ',', -1, /*KeepEmpty=*/false);
  if (targetList.empty())
    return module.emitError() << "--attn-compile needs target=<list>";
  for (auto [fn, op] : functions) {
    FailureOr<AttentionSpec> spec = specFromOp(op, /*ignoreRegions=*/true);
    if (failed(spec))
      return failure();
    BundleDesc desc = describeBundle(*spec, fn.getSymName().str());
    for (StringRef target : targetList) {
      // Each target lowers its own copy of just this function.
      OwningOpRef<ModuleOp> copy = ModuleOp::create(module.getLoc());
      copy->getBody()->push_back(fn->clone());
      FailureOr<std::vector<BundleKernel>> kernels =
          compileForTarget(*copy, target.trim().str(), desc.name, tools,
                           /*countTiles=*/false, nvvm);
      if (failed(kernels))
        return failure();
      desc.kernels.insert(desc.kernels.end(), kernels->begin(),
                          kernels->end());
    }
    printResourceReport(desc);
    if (std::string error = writeBundle(desc, emitDir); !error.empty())
      return module.emitError() << "cannot write the bundle: " << error;
  }
  return success();
}
