//===- attention-run.cpp - compile, run and check an attention kernel -----===//
//
// attention-run [file.mlir] --spec="<spec>" --target=cpu --check [--seed N]
//   [--bench] [--dump=DIR] [--inputs=DIR] [--count-tiles] [--num-threads N]
//   [--kernel-options="tma=0 ..."]
//
// Compiles the op for the CPU (attn-to-cpu-pipeline, LLVM IR, clang -shared),
// runs it on deterministic random inputs (or .npy files), and compares with
// the fp64 reference. Exit codes: 0 pass, 1 mismatch, 2 usage/compile error.
// An NVIDIA target (sm_80 ... sm_90a) or AMD target (gfx90a, gfx942)
// compiles that target's kernel as a bundle with its emulation and runs it
// through the runtime's CUDA or HIP path on the emulating driver
// (tools/nvemu): the kernel's own code, on the CPU, so its numerics are
// checked without a GPU.
//
//===----------------------------------------------------------------------===//

#include "attn/Analysis/MaskAnalysis.h"
#include "attn/Driver/Compile.h"
#include "attn/Dialect/Attn/IR/AttnOps.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/InitAll.h"
#include "attn/Passes.h"
#include "attn/Pipelines.h"
#include "attn/Reference/Npy.h"
#include "attn/Reference/Reference.h"
#include "attn/Target/TargetInfo.h"
#include "Formula.h" // runtime/lib: how the runtime evaluates manifests
#include "Guarded.h" // tools/nvemu: buffers that catch out-of-bounds stores
#include "attn_runtime.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/raw_ostream.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <set>
#include <thread>
#include <tuple>

using namespace mlir;
using namespace mlir::attn;
namespace cl = llvm::cl;

// --help lists these, not the hundreds of LLVM backend options the tool
// links in (they still parse).
static cl::OptionCategory runCategory("attention-run options");

static cl::opt<std::string> inputFile(cl::Positional, cl::desc("[file.mlir]"),
                                      cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> specText("spec", cl::desc("Spec string"),
                                     cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> target(
    "target",
    cl::desc("cpu, or an NVIDIA target (sm_80, sm_86, sm_89, sm_90, sm_90a) "
             "or AMD target (gfx90a, gfx942) run on the emulator"),
    cl::init("cpu"), cl::cat(runCategory));
static cl::opt<std::string> kernelOptions(
    "kernel-options",
    cl::desc("NVIDIA targets: the sm_90a kernel choice, as --attn-compile's "
             "(tma=0|1 warp-specialize=0|1 overlap=0|1 pingpong=0|1 "
             "persistent=N|sm exp2-ftz=0|1 producer-registers=N)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<bool> check("check", cl::desc("Compare with the reference"),
                           cl::cat(runCategory));
static cl::opt<bool> bench("bench", cl::desc("Time compile and run"),
                           cl::cat(runCategory));
static cl::opt<unsigned> seed("seed", cl::desc("Input seed"), cl::init(1),
                              cl::cat(runCategory));
static cl::opt<unsigned> threads("num-threads",
                                 cl::desc("Worker threads (0: all)"),
                                 cl::init(0), cl::cat(runCategory));
static cl::opt<unsigned> reps("reps", cl::desc("Timed runs for --bench"),
                              cl::init(5), cl::cat(runCategory));
static cl::opt<std::string> dumpDir("dump", cl::desc("Write .npy files"),
                                    cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> inputsDir("inputs",
                                      cl::desc("Read inputs from .npy files"),
                                      cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> expectedDir(
    "expected",
    cl::desc("Also compare the outputs with out.npy (lse.npy, state_out.npy) "
             "from this folder, e.g. golden vectors, at the dtype's tolerance"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<bool> viaRuntime(
    "runtime",
    cl::desc("Run the CPU kernel from its bundle through the runtime "
             "(attn_bundle_launch) instead of calling the .so directly"),
    cl::cat(runCategory));
static cl::opt<unsigned> launches(
    "launches",
    cl::desc("Launch the kernel N times, the outputs poisoned (NaN) before "
             "each; the last launch's outputs are checked"),
    cl::init(1), cl::cat(runCategory));
static cl::opt<bool> callerWorkspace(
    "caller-workspace",
    cl::desc("Through the runtime: launch on one workspace the caller "
             "allocates and zeroes once (attn_bundle_launch_with_workspace; "
             "its bytes past the zeroed prefix poisoned before each launch), "
             "and require a "
             "kernel that clears its counters on exit to leave them zero"),
    cl::cat(runCategory));
static cl::opt<bool> countTiles(
    "count-tiles",
    cl::desc("Count executed tiles and require them to match the analysis"),
    cl::cat(runCategory));
static cl::opt<std::string> referenceSpec(
    "reference-spec",
    cl::desc("Spec the reference evaluates instead of the kernel's own; "
             "needed for mask_fn / score_fn regions (give the equivalent "
             "built-in spec)"),
    cl::init(""), cl::cat(runCategory));
static cl::opt<std::string> keepDir("keep", cl::desc("Keep .ll/.so here"),
                                    cl::init(""), cl::cat(runCategory));

namespace {

/// MLIR's ranked memref descriptor, the C ABI of `_mlir_ciface_*`.
template <int Rank> struct MemRef {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[Rank];
  int64_t strides[Rank];
};

/// A kernel buffer with its descriptor; rank <= 4.
/// A tensor the kernel reads or writes, in a guarded buffer (zeroed): its
/// loads and stores are unchecked, so one past the end faults at once or
/// shows in the guard pattern checked after the launch (`intact`).
struct Buffer {
  std::vector<int64_t> shape;
  nvemu::GuardedBuffer mem;
  MemRef<4> desc;
  uint8_t *data() const { return static_cast<uint8_t *>(mem.data()); }
  void init(const std::vector<int64_t> &s, size_t eltBytes) {
    shape = s;
    int64_t n = 1;
    for (int64_t d : s)
      n *= d;
    if (!mem.allocate(n * eltBytes))
      llvm::report_fatal_error("attention-run: cannot allocate a tensor of " +
                               llvm::Twine(n * eltBytes) + " bytes");
    desc.allocated = desc.aligned = data();
    desc.offset = 0;
    // Descriptors of rank R only read the first R sizes and strides; the
    // struct layout is sizes[R] then strides[R], so pack them accordingly.
    int64_t *fields = desc.sizes;
    int64_t stride = 1;
    size_t r = s.size();
    for (size_t i = 0; i < r; ++i)
      fields[i] = s[i];
    for (size_t i = r; i-- > 0;) {
      fields[r + i] = stride;
      stride *= s[i];
    }
  }
};

/// The inputs, the kernel's outputs and the fp64 reference live in host
/// memory: refuse a problem that cannot fit before allocating any of it
/// (an allocation failure would abort).
std::string hostMemoryCheck(const AttentionSpec &s) {
  int64_t rowsQ = 0, rowsKV = 0, total = 0;
  bool overflow = __builtin_mul_overflow(s.batch, s.sq, &rowsQ) ||
                  __builtin_mul_overflow(s.batch, s.skv, &rowsKV);
  // Elements of Q, K, V, O (and a score-sized bias) in the worst case.
  for (auto [rows, heads, dim] :
       {std::tuple{rowsQ, s.hq, s.dqk}, {rowsKV, s.hk, s.dqk},
        {rowsKV, s.hv, s.dv}, {rowsQ, s.hq, s.dv},
        {rowsQ, s.hq, s.bias ? s.skv : 0}}) {
    int64_t n = 0;
    overflow |= __builtin_mul_overflow(rows, heads, &n) ||
                __builtin_mul_overflow(n, dim, &n) ||
                __builtin_add_overflow(total, n, &total);
  }
  // Each element is held as the input type, as float for the kernel and as
  // double for the reference: 16 bytes is a safe bound.
  int64_t bytes = 0;
  overflow |= __builtin_mul_overflow(total, int64_t(16), &bytes);
  int64_t physical = static_cast<int64_t>(sysconf(_SC_PHYS_PAGES)) *
                     static_cast<int64_t>(sysconf(_SC_PAGE_SIZE));
  if (overflow || (physical > 0 && bytes > physical))
    return "the problem's tensors need about " +
           (overflow ? std::string("more than 2^63") : std::to_string(bytes)) +
           " bytes of host memory, more than this machine's " +
           std::to_string(physical) + "; attention-run checks problems that fit";
  return "";
}

int fail(const std::string &msg, int code = 2) {
  llvm::errs() << "attention-run: error: " << msg << "\n";
  return code;
}

size_t eltBytes(DType t) { return t == DType::F32 ? 4 : 2; }

void fillFloat(Buffer &buf, const RefTensor &t, DType dtype) {
  buf.init(t.shape, eltBytes(dtype));
  if (dtype == DType::F32) {
    std::vector<float> v = toF32(t);
    memcpy(buf.data(), v.data(), v.size() * 4);
  } else {
    std::vector<uint16_t> v =
        dtype == DType::F16 ? toF16Bits(t) : toBF16Bits(t);
    memcpy(buf.data(), v.data(), v.size() * 2);
  }
}

RefTensor readFloat(const Buffer &buf, DType dtype) {
  if (dtype == DType::F32)
    return fromF32(buf.shape, reinterpret_cast<const float *>(buf.data()));
  auto *p = reinterpret_cast<const uint16_t *>(buf.data());
  return dtype == DType::F16 ? fromF16Bits(buf.shape, p)
                             : fromBF16Bits(buf.shape, p);
}

/// Calls the C entry with descriptor pointers and the work-item range. All
/// arguments are pointer-sized integers, so one variadic-free signature per
/// arity covers every kernel.
void callKernel(void *fn, const std::vector<void *> &descs, int64_t begin,
                int64_t end, void *counts) {
  std::vector<intptr_t> a;
  for (void *d : descs)
    a.push_back(reinterpret_cast<intptr_t>(d));
  a.push_back(begin);
  a.push_back(end);
  if (counts)
    a.push_back(reinterpret_cast<intptr_t>(counts));
  using I = intptr_t;
  switch (a.size()) {
#define CASE(N, ...)                                                           \
  case N:                                                                      \
    reinterpret_cast<void (*)(__VA_ARGS__)>(fn)
    CASE(6, I, I, I, I, I, I)(a[0], a[1], a[2], a[3], a[4], a[5]);
    break;
    CASE(7, I, I, I, I, I, I, I)(a[0], a[1], a[2], a[3], a[4], a[5], a[6]);
    break;
    CASE(8, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7]);
    break;
    CASE(9, I, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8]);
    break;
    CASE(10, I, I, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9]);
    break;
    CASE(11, I, I, I, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10]);
    break;
    CASE(12, I, I, I, I, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11]);
    break;
    CASE(13, I, I, I, I, I, I, I, I, I, I, I, I, I)
    (a[0], a[1], a[2], a[3], a[4], a[5], a[6], a[7], a[8], a[9], a[10], a[11],
     a[12]);
    break;
#undef CASE
  default:
    llvm::report_fatal_error("unsupported kernel arity");
  }
}

/// Multiply-adds (x2) of the chunked linear attention program with chunks
/// of `chunk` rows: the quadratic form inside each chunk, each row's product
/// with the carried state and the state update (non-causal: the state sum
/// and one product per row).
double linearFlops(const AttentionSpec &spec, int64_t chunk) {
  double f = spec.featureDim(), cols = spec.dv + (spec.normSum ? 1 : 0);
  double perHead = 0;
  for (int64_t t0 = 0; t0 < spec.sq; t0 += chunk) {
    double n = std::min(chunk, spec.sq - t0);
    perHead += 2 * n * f * cols * 2; // state product per row + state update
    if (spec.causal)
      perHead += n * (n + 1) / 2 * 2 * (f + cols);
  }
  return perHead * spec.batch * spec.hq;
}

double now() {
  return std::chrono::duration<double>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Normwise bound: f32 within 1e-5 relative; f16/bf16 within two units in
/// the last place of the output scale, what one plain unfused kernel in that
/// dtype reaches (it rounds S, P and O).
double tolerance(DType dt) {
  return dt == DType::F32 ? 1e-5 : (dt == DType::F16 ? 0x1p-9 : 0x1p-7);
}

/// `got` against `want` relative to max |want| over its finite entries,
/// within `tol` and free of NaN.
bool withinNormwise(const RefTensor &got, const RefTensor &want, double tol,
                    Comparison &c) {
  double scale = 0;
  for (double x : want.data)
    if (std::isfinite(x))
      scale = std::max(scale, std::fabs(x));
  c = compareTensors(got, want, std::max(scale, 1e-30));
  bool ok = c.error.empty() && c.maxRelError <= tol;
  for (double x : got.data)
    ok &= !std::isnan(x);
  return ok;
}

/// The tiling of an attn op; null for any other op (or before selection).
TilingAttr tilingOf(Operation *op) {
  if (auto attn = dyn_cast<AttentionOp>(op))
    return attn.getTilingAttr();
  if (auto linear = dyn_cast<LinearAttentionOp>(op))
    return linear.getTilingAttr();
  return nullptr;
}

/// CPU: the kernel's shared object written to `dir` and opened.
int loadCpuKernel(MLIRContext &context, ModuleOp module, StringRef dir,
                  int64_t &blockQ, int64_t &blockKV, std::string &workItems,
                  std::string &workspaceBytes, int64_t &packGroup, void *&lib,
                  void *&fn) {
  PassManager pm(&context);
  pm.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{"cpu"}));
  if (failed(pm.run(module)))
    return fail("schedule selection failed");
  std::string kernelName;
  module->walk([&](Operation *op) {
    TilingAttr tiling = tilingOf(op);
    if (!tiling)
      return;
    if (auto attn = dyn_cast<AttentionOp>(op); attn && attn.packsHeads())
      packGroup = attn.getPackGroup();
    blockQ = tiling.getBlockQ();
    blockKV = tiling.getBlockKv();
    kernelName = op->getParentOfType<func::FuncOp>().getSymName().str();
  });
  FailureOr<std::vector<BundleKernel>> kernels = compileForTarget(
      module, "cpu", kernelName, ToolPaths::defaults(), countTiles);
  if (failed(kernels))
    return fail("compilation for the cpu failed");
  std::string soPath = (dir + "/" + kernelName + ".so").str();
  {
    std::error_code ec;
    llvm::raw_fd_ostream os(soPath, ec);
    if (ec)
      return fail("cannot write " + soPath);
    const std::vector<uint8_t> &bytes = kernels->front().binary;
    workItems = kernels->front().workItems;
    workspaceBytes = kernels->front().workspaceBytes;
    os.write(reinterpret_cast<const char *>(bytes.data()), bytes.size());
  }
  lib = dlopen(soPath.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib)
    return fail(std::string("dlopen: ") + dlerror());
  fn = dlsym(lib, ("_mlir_ciface_" + kernelName).c_str());
  if (!fn)
    return fail("kernel entry _mlir_ciface_" + kernelName + " not found");
  return 0;
}

/// The bundle kernel's workspace contract (--caller-workspace): its
/// zeroed prefix formula and whether the kernel leaves it zero.
static std::string workspaceZeroFormula;
static bool workspaceZeroOnExit = false;

/// GPU targets: the kernel the bundle launches ("kernel=... grid=[...]
/// block=N ... tile=BQxBKVxWARPSxSTAGES"), printed after the spec so that
/// a run shows which kernel it checked (a stream-K schedule that fell back to flash would show).
static std::string gpuKernelLine;

/// The target's bundle written to `dir` and loaded by the runtime. NVIDIA:
/// with its emulation, and the runtime's CUDA path goes to the emulating
/// driver (it finds each image's emulation in the bundle's nvemu/ folder).
/// CPU (--runtime): the runtime's own CPU path (manifest work items,
/// threads, workspace).
int loadBundleKernel(MLIRContext &context, ModuleOp module,
                     const AttentionSpec &spec, const NvvmKernelOptions &nvvm,
                     StringRef dir, bool emulated, int64_t &blockQ,
                     int64_t &blockKV, attn_bundle *&bundle) {
  std::string kernelName;
  if (!emulated) {
    // The CPU tiles, for --bench's FLOP count (compileForTarget keeps them).
    PassManager pm(&context);
    pm.addPass(createAttnSelectSchedule(AttnSelectScheduleOptions{"cpu"}));
    if (failed(pm.run(module)))
      return fail("schedule selection failed");
  }
  module->walk([&](Operation *op) {
    if (!isa<AttentionOp, LinearAttentionOp>(op))
      return;
    kernelName = op->getParentOfType<func::FuncOp>().getSymName().str();
    if (TilingAttr tiling = tilingOf(op))
      blockQ = tiling.getBlockQ(), blockKV = tiling.getBlockKv();
  });
  FailureOr<std::vector<BundleKernel>> kernels = compileForTarget(
      module, target, kernelName, ToolPaths::defaults(), false, nvvm);
  if (failed(kernels))
    return fail("compilation for " + target + " failed");
  BundleDesc desc = describeBundle(spec, kernelName);
  desc.kernels = *kernels;
  // (A target's kernels, e.g. PTX and cubin, share one workspace contract.)
  if (!desc.kernels.empty()) {
    const BundleKernel &k = desc.kernels.front();
    workspaceZeroFormula =
        k.workspaceZeroBytes.empty() ? k.workspaceBytes : k.workspaceZeroBytes;
    workspaceZeroOnExit = k.workspaceZeroOnExit;
  }
  for (const BundleKernel &k : desc.kernels)
    if (emulated && (k.format == "cubin" || k.format == "hsaco")) {
      gpuKernelLine = "attention-run: " + target + " kernel=" + k.kernel +
                      " grid=[" + k.gridX + ", " + k.gridY + ", " + k.gridZ +
                      "] block=" + std::to_string(k.blockX) +
                      (k.workspaceBytes.empty()
                           ? ""
                           : " workspace=" + k.workspaceBytes) +
                      " tile=" + k.tileName() + "\n";
      break;
    }
  if (std::string error = writeBundle(desc, dir.str()); !error.empty())
    return fail("cannot write the bundle: " + error);
  if (emulated) {
    setenv("ATTN_CUDA_LIBRARY", ATTN_NVEMU_DRIVER, 1);
    setenv("ATTN_HIP_LIBRARY", ATTN_AMDEMU_DRIVER, 1);
    setenv("ATTN_NVEMU_DIR", (dir + "/nvemu").str().c_str(), 1);
    setenv("ATTN_NVEMU_ARCH", target.c_str(), 1);
    setenv("ATTN_AMDEMU_ARCH", target.c_str(), 1);
  }
  if (attn_bundle_load((dir + "/" + kernelName + ".json").str().c_str(),
                       &bundle) != ATTN_OK)
    return fail(std::string("loading the bundle: ") + attn_last_error());
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  cl::HideUnrelatedOptions(runCategory);
  cl::ParseCommandLineOptions(argc, argv, "attention-run\n");
  std::optional<TargetInfo> info = lookupTarget(target);
  bool emulated = info && info->kind != TargetKind::CPU;
  if (!info)
    return fail("target '" + target +
                "' cannot run here; attention-run executes the cpu target "
                "and the NVIDIA and AMD targets (on the emulator)");
  NvvmKernelOptions nvvm;
  {
    std::string error;
    parseNvvmKernelOptions(kernelOptions, nvvm, error);
    if (!error.empty())
      return fail("--kernel-options: " + error);
    if (!kernelOptions.empty() && info->kind != TargetKind::NVVM)
      return fail("--kernel-options choose NVIDIA kernels; the target is " + target);
  }
  nvvm.emulation = true;
  if (viaRuntime && countTiles)
    return fail("--count-tiles passes an instrumentation argument the "
                "runtime's kernel ABI does not have; drop --runtime");
  if (callerWorkspace && !emulated && !viaRuntime)
    return fail("--caller-workspace launches through the runtime: add "
                "--runtime (the cpu target) or choose a GPU target");
  if (launches == 0)
    return fail("--launches must be >= 1");
  if (emulated && (countTiles || bench))
    return fail(std::string(countTiles ? "--count-tiles" : "--bench") +
                " needs the cpu target (the emulator neither counts tiles nor "
                "says anything about speed)");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerBuiltinDialectTranslation(registry);
  registerLLVMDialectTranslation(registry);
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  // Errors reach stderr by default, warnings only through a handler (e.g.
  // a schedule lowered as flash): print them in the same form, once (an
  // NVIDIA kernel is lowered twice with emulation).
  std::set<std::string> warned;
  ScopedDiagnosticHandler warnings(&context, [&](Diagnostic &diag) {
    if (diag.getSeverity() != DiagnosticSeverity::Warning)
      return failure();
    std::string text;
    llvm::raw_string_ostream os(text);
    os << diag.getLocation() << ": warning: " << diag << "\n";
    if (warned.insert(text).second)
      llvm::errs() << text;
    return success();
  });

  if (bench && reps == 0)
    return fail("--reps must be >= 1 (the median of the timed runs is "
                "reported)");

  // The op: from a spec string or from an .mlir file.
  AttentionSpec spec;
  OwningOpRef<ModuleOp> module;
  if (!specText.empty() && !inputFile.empty())
    return fail("give --spec=\"...\" or an .mlir file, not both");
  if (!specText.empty()) {
    std::string error;
    if (!parseSpec(specText, spec, error))
      return fail("bad spec: " + error);
    if (std::string bad = validateSpec(spec); !bad.empty())
      return fail("invalid spec: " + bad);
    module = buildModuleFromSpec(&context, spec);
  } else if (!inputFile.empty()) {
    module = parseSourceFile<ModuleOp>(inputFile, &context);
    if (!module)
      return fail("cannot parse " + inputFile);
    Operation *found = nullptr;
    int numOps = 0;
    module->walk([&](Operation *op) {
      if (isa<AttentionOp, LinearAttentionOp>(op) && !numOps++)
        found = op;
    });
    if (!found)
      return fail(inputFile + " has no attn op");
    // One kernel is compiled, run and checked against one reference.
    if (numOps > 1)
      return fail(inputFile + " has " + std::to_string(numOps) +
                  " attn ops; attention-run runs one (give each its own "
                  "file, or compile them together with attention-opt "
                  "--attn-compile)");
    FailureOr<AttentionSpec> s = specFromOp(found, /*ignoreRegions=*/true);
    if (failed(s))
      return fail("cannot derive a spec from " + inputFile);
    spec = *s;
    // The op's sizes under the spec's rules (e.g. a zero sequence length),
    // before inputs of those sizes are made.
    if (std::string bad = validateSpec(spec); !bad.empty())
      return fail(inputFile + ": " + bad);
    auto attn = dyn_cast<AttentionOp>(found);
    if (attn && (!attn.getMaskFn().empty() || !attn.getScoreFn().empty()) &&
        referenceSpec.empty())
      return fail(inputFile + " has mask_fn / score_fn regions, which the "
                              "reference cannot evaluate: give "
                              "--reference-spec with the equivalent spec");
  } else {
    return fail("give --spec=\"...\" or an .mlir file");
  }
  bool linear = spec.kind == OpKind::Linear;
  if (linear && countTiles)
    return fail("--count-tiles counts softmax tiles; linear attention has no "
                "empty or masked tiles");
  if (std::string tooBig = hostMemoryCheck(spec); !tooBig.empty())
    return fail(tooBig);
  spec.name = spec.name.empty() ? "attention" : spec.name;

  // Compile through the same driver code as --attn-compile's CPU kernel.
  double t0 = now();
  llvm::SmallString<128> dir(keepDir);
  if (dir.empty() &&
      llvm::sys::fs::createUniqueDirectory("attention-run", dir))
    return fail("cannot create a temporary directory");
  llvm::sys::fs::create_directories(dir);
  attn_bundle *bundle = nullptr;
  void *lib = nullptr, *fn = nullptr;
  int64_t blockQ = 0, blockKV = 0, packGroup = 1;
  std::string workItemsFormula, workspaceFormula;
  if (int rc = emulated || viaRuntime
                   ? loadBundleKernel(context, *module, spec, nvvm, dir,
                                      emulated, blockQ, blockKV, bundle)
                   : loadCpuKernel(context, *module, dir, blockQ, blockKV,
                                   workItemsFormula, workspaceFormula,
                                   packGroup, lib,
                                   fn))
    return rc;
  double compileSeconds = now() - t0;

  // Inputs.
  // The reference's spec: the kernel's own, or an equivalent one that spells
  // out what the kernel's regions compute. Inputs follow it, so it must name
  // every operand the kernel reads.
  AttentionSpec refSpec = spec;
  if (!referenceSpec.empty()) {
    std::string error;
    if (!parseSpec(referenceSpec, refSpec, error))
      return fail("bad reference spec: " + error);
    if (std::string bad = validateSpec(refSpec); !bad.empty())
      return fail("invalid reference spec: " + bad);
    bool same = refSpec.batch == spec.batch && refSpec.hq == spec.hq &&
                refSpec.hk == spec.hk && refSpec.hv == spec.hv &&
                refSpec.sq == spec.sq && refSpec.skv == spec.skv &&
                refSpec.dqk == spec.dqk && refSpec.dv == spec.dv &&
                refSpec.dtype == spec.dtype && refSpec.lse == spec.lse &&
                refSpec.gate == spec.gate && refSpec.bias == spec.bias &&
                refSpec.usesDocument() == spec.usesDocument() &&
                !refSpec.runtimeBlockMask() == !spec.runtimeBlockMask();
    if (!same)
      return fail("reference spec '" + printSpec(refSpec) +
                  "' differs from the kernel's shapes or operands '" +
                  printSpec(spec) + "'");
  }
  AttentionIO io = makeRandomInputs(refSpec, seed);
  if (!inputsDir.empty()) {
    // Files the folder lacks stay random, but a folder that is not there
    // is a typo, not a request for random inputs.
    if (!llvm::sys::fs::is_directory(inputsDir))
      return fail("--inputs: " + inputsDir + " is not a folder");
    auto readInto = [&](const char *file, RefTensor &t) -> bool {
      std::string path = inputsDir + "/" + file, error;
      if (!llvm::sys::fs::exists(path))
        return true;
      return readNpy(path, t, error) || (fail(error), false);
    };
    if (!readInto("q.npy", io.q) || !readInto("k.npy", io.k) ||
        !readInto("v.npy", io.v) || !readInto("gate.npy", io.gate) ||
        !readInto("bias.npy", io.bias) ||
        !readInto("state_in.npy", io.stateIn))
      return 2;
  }
  if (std::string bad = checkInputs(spec, io); !bad.empty())
    return fail("inputs: " + bad);
  if (!expectedDir.empty() && !llvm::sys::fs::is_directory(expectedDir))
    return fail("--expected: " + expectedDir + " is not a folder");
  // Kernels see dtype-rounded operands; the reference gets the same values.
  DType dt = spec.dtype;
  io.q = castTo(io.q, dt), io.k = castTo(io.k, dt), io.v = castTo(io.v, dt);
  if (!io.gate.empty())
    io.gate = castTo(io.gate, dt);
  if (!io.bias.empty())
    io.bias = castTo(io.bias, dt);

  Buffer q, k, v, gate, bias, doc, blocks, stateIn, out, lse, stateOut;
  fillFloat(q, io.q, dt);
  fillFloat(k, io.k, dt);
  fillFloat(v, io.v, dt);
  std::vector<void *> descs = {&q.desc, &k.desc, &v.desc};
  if (spec.gate != GateKind::None) {
    fillFloat(gate, io.gate, dt);
    descs.push_back(&gate.desc);
  }
  if (spec.bias) {
    fillFloat(bias, io.bias, dt);
    descs.push_back(&bias.desc);
  }
  if (spec.usesDocument()) {
    doc.init({spec.batch, spec.skv}, 4);
    memcpy(doc.data(), io.docIds.data(), io.docIds.size() * 4);
    descs.push_back(&doc.desc);
  }
  if (const MaskSpec *m = spec.runtimeBlockMask()) {
    blocks.init({spec.batch, spec.hq,
                 static_cast<int64_t>(llvm::divideCeil(spec.sq, m->blockQ)),
                 static_cast<int64_t>(llvm::divideCeil(spec.skv, m->blockKV))},
                1);
    memcpy(blocks.data(), io.blockMask.data(), io.blockMask.size());
    descs.push_back(&blocks.desc);
  }
  // Linear attention's state is f32 whatever the dtype.
  if (spec.stateIn) {
    fillFloat(stateIn, io.stateIn, DType::F32);
    descs.push_back(&stateIn.desc);
  }
  out.init({spec.batch, spec.hq, spec.sq, spec.dv}, eltBytes(dt));
  descs.push_back(&out.desc);
  if (spec.lse) {
    lse.init({spec.batch, spec.hq, spec.sq}, 4);
    descs.push_back(&lse.desc);
  }
  if (spec.stateOut) {
    stateOut.init({spec.batch, spec.hq, spec.featureDim(),
                   spec.dv + (spec.normSum ? 1 : 0)},
                  4);
    descs.push_back(&stateOut.desc);
  }
  // The CPU kernel's launch, as the runtime computes it from the manifest:
  // its work items ((batch, head, query tile) items, (batch, head) for
  // linear attention, the workers of a KV-splitting schedule) and the
  // workspace of stream-K / split_kv (arrival counters and partial results,
  // zeroed before each run).
  attn_rt::Formula::Env sizes = {
      {"B", spec.batch}, {"Sq", spec.sq}, {"Skv", spec.skv}};
  auto evalFormula = [&](const std::string &text, int64_t &out) {
    attn_rt::Formula f;
    std::string err = f.parse(text, {"B", "Sq", "Skv"});
    if (err.empty())
      err = f.eval(sizes, out);
    if (!err.empty())
      llvm::errs() << "attention-run: error: " << err << "\n";
    return err.empty();
  };
  int64_t workItems = 0, workspaceBytes = 0;
  if (!bundle && (!evalFormula(workItemsFormula, workItems) ||
                  (!workspaceFormula.empty() &&
                   !evalFormula(workspaceFormula, workspaceBytes))))
    return 1;
  // The workspace is a guarded buffer (as the emulators' device memory
  // is): the kernel's global stores are unchecked, so a slot layout larger
  // than the manifest's size formula would otherwise pass unnoticed.
  MemRef<1> workspaceDesc{};
  nvemu::GuardedBuffer workspace;
  if (workspaceBytes) {
    if (!workspace.allocate(workspaceBytes))
      return fail("cannot allocate the " + std::to_string(workspaceBytes) +
                  "-byte workspace");
    workspaceDesc = {static_cast<float *>(workspace.data()),
                     static_cast<float *>(workspace.data()),
                     0,
                     {workspaceBytes / 4},
                     {1}};
    descs.push_back(&workspaceDesc);
  }
  unsigned nThreads = countTiles ? 1
                      : threads  ? threads
                                 : std::max(1u, std::thread::hardware_concurrency());
  std::vector<int64_t> counts(2, 0);
  MemRef<1> countsDesc{counts.data(), counts.data(), 0, {2}, {1}};
  // --caller-workspace: one workspace for every launch, zeroed once; past
  // the prefix that must start zeroed it holds NaN, which no kernel may
  // read before writing.
  std::vector<void *> tensors;
  for (void *d : descs)
    tensors.push_back(static_cast<MemRef<4> *>(d)->aligned);
  attn_launch_args launchArgs = {tensors.data(), tensors.size(), spec.batch,
                                 spec.sq, spec.skv};
  nvemu::GuardedBuffer callerWs;
  size_t callerWsBytes = 0, callerWsZeroed = 0;
  if (callerWorkspace) {
    if (attn_bundle_workspace_size(bundle, target.c_str(), &launchArgs,
                                   &callerWsBytes) != ATTN_OK)
      return fail(std::string("workspace size: ") + attn_last_error());
    int64_t zeroed = 0;
    if (callerWsBytes && !workspaceZeroFormula.empty() &&
        !evalFormula(workspaceZeroFormula, zeroed))
      return 1;
    callerWsZeroed = static_cast<size_t>(zeroed);
    if (!callerWs.allocate(std::max<size_t>(callerWsBytes, 4)))
      return fail("cannot allocate the " + std::to_string(callerWsBytes) +
                  "-byte workspace");
  }
  // Before each launch: NaN past the prefix, so that stale shares of the
  // previous launch cannot stand in for this one's.
  auto poisonCallerWorkspace = [&] {
    if (callerWorkspace)
      std::memset(static_cast<uint8_t *>(callerWs.data()) + callerWsZeroed,
                  0xff, callerWsBytes - callerWsZeroed);
  };
  auto runOnce = [&]() -> bool {
    if (bundle) {
      attn_status st =
          callerWorkspace
              ? attn_bundle_launch_with_workspace(bundle, target.c_str(),
                                                  &launchArgs, nullptr,
                                                  callerWs.data(), callerWsBytes)
              : attn_bundle_launch(bundle, target.c_str(), &launchArgs, nullptr);
      if (st != ATTN_OK) {
        llvm::errs() << "attention-run: error: " << attn_last_error() << "\n";
        return false;
      }
      return true;
    }
    if (workspaceBytes)
      std::memset(workspace.data(), 0, workspaceBytes);
    std::vector<std::thread> pool;
    int64_t per = llvm::divideCeil(workItems, nThreads);
    for (unsigned t = 0; t < nThreads; ++t) {
      int64_t b = t * per, e = std::min(workItems, b + per);
      if (b >= e)
        break;
      pool.emplace_back([&, b, e] {
        callKernel(fn, descs, b, e, countTiles ? &countsDesc : nullptr);
      });
    }
    for (std::thread &th : pool)
      th.join();
    return true;
  };
  for (unsigned i = 0; i < launches; ++i) {
    if (i > 0)
      for (Buffer *o : {&out, &lse, &stateOut})
        if (o->mem.data())
          std::memset(o->mem.data(), 0xff, o->mem.size());
    poisonCallerWorkspace();
    // --count-tiles compares one launch's tiles with the analysis.
    std::fill(counts.begin(), counts.end(), 0);
    if (!runOnce())
      return 2;
    if (callerWorkspace && workspaceZeroOnExit) {
      const uint8_t *w = static_cast<const uint8_t *>(callerWs.data());
      if (std::any_of(w, w + callerWsZeroed, [](uint8_t x) { return x; }))
        return fail("launch " + std::to_string(i + 1) +
                    " left the workspace's zeroed prefix (" +
                    std::to_string(callerWsZeroed) +
                    " bytes) dirty, though the manifest says "
                    "workspace_zero_on_exit");
    }
  }
  for (auto [name, mem] :
       {std::pair<const char *, const nvemu::GuardedBuffer *>{"q", &q.mem},
        {"k", &k.mem}, {"v", &v.mem}, {"gate", &gate.mem}, {"bias", &bias.mem},
        {"doc", &doc.mem}, {"blocks", &blocks.mem}, {"state_in", &stateIn.mem},
        {"o", &out.mem}, {"lse", &lse.mem}, {"state_out", &stateOut.mem},
        {"workspace", &workspace}, {"caller workspace", &callerWs}})
    if (std::string overrun = mem->intact(); !overrun.empty())
      return fail(std::string(name) + ": " + overrun);

  int status = 0;
  llvm::outs() << "attention-run: " << printSpec(spec) << "\n"
               << gpuKernelLine;
  if (countTiles) {
    // The analysis walks the tiles the kernel walks: packed ones when the
    // schedule packed the heads.
    AttentionSpec counted = spec;
    counted.packGqa = packGroup > 1;
    TileStats stats = analyzeTiles(counted, blockQ, blockKV, &io.docIds,
                                   &io.blockMask);
    bool match = counts[0] == stats.full && counts[1] == stats.partial;
    llvm::outs() << "tiles executed: full=" << counts[0]
                 << " partial=" << counts[1] << "; analysis: total="
                 << stats.total << " full=" << stats.full
                 << " partial=" << stats.partial << " empty=" << stats.empty
                 << (match ? " (match)" : " (MISMATCH)") << "\n";
    if (!match)
      status = 1;
  }
  RefTensor got = readFloat(out, dt);
  RefTensor gotLse;
  if (spec.lse)
    gotLse = fromF32(lse.shape, reinterpret_cast<float *>(lse.data()));
  RefTensor gotState;
  if (spec.stateOut)
    gotState = readFloat(stateOut, DType::F32);
  if (!dumpDir.empty()) {
    llvm::sys::fs::create_directories(dumpDir);
    std::string error;
    auto w = [&](const char *f, const RefTensor &t, NpyDType d) {
      if (!t.empty() && !writeNpy(dumpDir + "/" + f, t, d, error)) {
        fail(error);
        status = 2;
      }
    };
    w("q.npy", io.q, NpyDType::F32);
    w("k.npy", io.k, NpyDType::F32);
    w("v.npy", io.v, NpyDType::F32);
    w("gate.npy", io.gate, NpyDType::F32);
    w("bias.npy", io.bias, NpyDType::F32);
    w("state_in.npy", io.stateIn, NpyDType::F32);
    w("out.npy", got, NpyDType::F32);
    w("lse.npy", gotLse, NpyDType::F32);
    w("state_out.npy", gotState, NpyDType::F32);
  }
  if (!expectedDir.empty()) {
    // Expected outputs computed elsewhere (test/golden, another framework):
    // the same normwise bounds as --check, against those values.
    // 0: within tol, 1: not, 2: no such file (a usage error).
    auto compareWith = [&](const char *file, const RefTensor &got,
                           double tol) {
      std::string path = expectedDir + "/" + file, error;
      RefTensor want;
      if (!readNpy(path, want, error)) {
        fail("--expected: " + error);
        return 2;
      }
      Comparison c;
      bool ok = withinNormwise(got, want, tol, c);
      llvm::outs() << "expected " << file << ": ";
      if (c.error.empty())
        llvm::outs() << llvm::format("max_abs_err=%.3e max_rel_err=%.3e",
                                     c.maxAbsError, c.maxRelError);
      else
        llvm::outs() << c.error;
      llvm::outs() << (ok ? " PASS" : " FAIL") << "\n";
      return ok ? 0 : 1;
    };
    double tol = tolerance(dt);
    int worst = compareWith("out.npy", got, tol);
    if (spec.lse)
      worst = std::max(worst, compareWith("lse.npy", gotLse, std::max(tol, 1e-5)));
    if (spec.stateOut)
      worst = std::max(worst, compareWith("state_out.npy", gotState, tol));
    status = std::max(status, worst);
  }
  if (check) {
    ReferenceResult ref = runReference(refSpec, io);
    double tol = tolerance(dt);
    Comparison c;
    bool ok = withinNormwise(got, ref.out, tol, c);
    llvm::outs() << llvm::format("check out: max_abs_err=%.3e "
                                 "max_rel_err=%.3e tol=%.1e (%s) %s\n",
                                 c.maxAbsError, c.maxRelError, tol,
                                 toString(dt), ok ? "PASS" : "FAIL");
    if (spec.lse) {
      Comparison cl = compareTensors(gotLse, ref.lse, 1.0);
      bool lok = cl.error.empty() && cl.maxRelError <= std::max(tol, 1e-5);
      llvm::outs() << llvm::format("check lse: max_abs_err=%.3e %s\n",
                                   cl.maxAbsError, lok ? "PASS" : "FAIL");
      ok &= lok;
    }
    if (spec.stateOut) {
      // The state is f32 in every dtype; its error follows the inputs'
      // rounding like the output's, relative to its own scale.
      Comparison cs;
      bool sok = withinNormwise(gotState, ref.stateOut, tol, cs);
      llvm::outs() << llvm::format("check state_out: max_abs_err=%.3e "
                                   "max_rel_err=%.3e %s\n",
                                   cs.maxAbsError, cs.maxRelError,
                                   sok ? "PASS" : "FAIL");
      ok &= sok;
    }
    if (!ok)
      status = 1;
  }
  if (bench) {
    std::vector<double> times;
    for (unsigned r = 0; r < reps; ++r) {
      double s = now();
      runOnce();
      times.push_back(now() - s);
    }
    std::sort(times.begin(), times.end());
    double median = times[times.size() / 2];
    double flops = linear ? linearFlops(spec, blockQ)
                          : analyzeTiles(spec, blockQ, blockKV).flops;
    llvm::outs() << llvm::format(
        "bench: compile_s=%.3f run_ms=%.3f (median of %u, %u threads) "
        "executed_gflops=%.3f\n",
        compileSeconds, median * 1e3, static_cast<unsigned>(reps), nThreads,
        flops * 1e-9 / median);
  }
  if (lib)
    dlclose(lib);
  if (bundle)
    attn_bundle_free(bundle);
  if (keepDir.empty())
    llvm::sys::fs::remove_directories(dir);
  return status;
}
