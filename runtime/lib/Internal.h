//===- Internal.h - Runtime internals shared by the loaders -----*- C++ -*-===//

#ifndef ATTN_RUNTIME_INTERNAL_H
#define ATTN_RUNTIME_INTERNAL_H

#include "Formula.h"
#include "attn_runtime.h"

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

static_assert(sizeof(void *) == 8, "the runtime assumes 64-bit pointers");

namespace attn_rt {

/// Records `msg` as this thread's last error and returns `s`.
attn_status fail(attn_status s, const std::string &msg);

struct ArgInfo {
  std::string name, dtype;
  std::vector<Formula> shape; // empty for scalars
  bool output = false;
  bool scalar = false;
};

/// A module/function loaded into one GPU context (CUDA) or device (HIP).
struct GpuModule {
  const void *driver = nullptr; // the loader's driver table it came from
  void *key = nullptr;          // CUcontext, or (HIP) device ordinal + 1
  void *module = nullptr;
  void *function = nullptr;
};

/// A tensor map of the flat-memref+tma ABI: tensor `tensor` (index among
/// the bundle's tensors) in boxes of `box` (innermost first).
struct TensorMapInfo {
  size_t tensor = 0;
  std::vector<uint32_t> box;
  int swizzle = 0; // bytes: 0, 32, 64, 128
};

struct KernelInfo {
  std::string target, format, file, entry, paramAbi;
  std::vector<TensorMapInfo> tensorMaps;
  Formula grid[3];
  int64_t block[3] = {1, 1, 1};
  int64_t dynamicSmemBytes = 0, registers = -1, spillBytes = -1, scratchBytes = -1;
  Formula workItems;
  /// Scratch the runtime allocates per launch, and its leading bytes that
  /// start zeroed (empty: none / all of it). Formulas: a split-KV kernel's
  /// workers, and so its workspace, grow with the launch sizes.
  Formula workspaceBytes, workspaceZeroBytes;
  /// The kernel leaves the zeroed prefix zero when it finishes.
  bool workspaceZeroOnExit = false;
  int64_t size = -1; // from the manifest; -1 = not given

  // Where the bytes come from.
  bool fromMemory = false;
  bool hasBlob = false;           // fromMemory: a blob was given for `file`
  std::vector<uint8_t> bytes;     // the blob, or the file once read (GPU)
  bool bytesRead = false;
  std::string path;               // !fromMemory: DIR/file

  // Lazily loaded state, guarded by mu.
  std::mutex mu;
  void *dl = nullptr;      // CPU: dlopen handle
  void *cpuEntry = nullptr;
  std::vector<GpuModule> modules;

  bool isCpu() const { return target == "cpu"; }
  bool isCuda() const { return target.compare(0, 3, "sm_") == 0; }
  bool isHip() const { return target.compare(0, 3, "gfx") == 0; }
};

/// Reads the kernel's bytes (file or blob) and checks the manifest size.
/// Call with k.mu held.
attn_status kernelBytes(KernelInfo &k, const std::vector<uint8_t> *&out);

/// The kernel's function in `key`'s context (device) of the loader whose
/// driver table is `driver`: loaded once, under k.mu, by `load(bytes, m)`,
/// which fills m.module and m.function (and unloads what it loaded before
/// failing); later launches find it in k.modules.
template <typename Load>
attn_status moduleFunction(KernelInfo &k, const void *driver, void *key, void *&function,
                           Load load) {
  std::lock_guard<std::mutex> lock(k.mu);
  for (const GpuModule &m : k.modules)
    if (m.driver == driver && m.key == key) {
      function = m.function;
      return ATTN_OK;
    }
  const std::vector<uint8_t> *bytes;
  if (attn_status s = kernelBytes(k, bytes); s != ATTN_OK)
    return s;
  GpuModule m;
  m.driver = driver;
  m.key = key;
  if (attn_status s = load(*bytes, m); s != ATTN_OK)
    return s;
  k.modules.push_back(m);
  function = m.function;
  return ATTN_OK;
}

// ---- CPU (CpuLoader.cpp) ---------------------------------------------------
/// Runs work items [0, workItems) of the .so entry over host threads.
/// `descs[i]` is the ranked memref descriptor (as i64 words) of tensor i.
attn_status cpuLaunch(KernelInfo &k, std::vector<std::vector<int64_t>> &descs, int64_t workItems);
void cpuUnload(KernelInfo &k);

// ---- GPU (CudaLoader.cpp, HipLoader.cpp) -----------------------------------
struct GpuDevice {
  std::string arch; // "sm_90", "gfx942"
  void *key = nullptr;
  /// Streaming multiprocessors, the `SMs` of grid formulas (persistent
  /// kernels); 0 where unknown (HIP), which such a formula then reports.
  int64_t multiprocessors = 0;
};
/// A CUtensorMap to encode for one launch (CUDA only).
struct TensorMapRequest {
  void *address = nullptr;
  std::string dtype;            // f16, bf16, f32
  std::vector<uint64_t> dims;   // innermost first
  std::vector<uint32_t> box;    // innermost first
  int swizzle = 0;
};
struct GpuLaunch {
  unsigned grid[3];
  unsigned block[3];
  unsigned smem;
  std::vector<uint64_t> params; // one 8-byte word per kernel parameter
  /// Passed by value after `params`, 128 bytes each.
  std::vector<TensorMapRequest> tensorMaps;
  /// Zeroed device scratch for this launch (stream-K), passed as one more
  /// flat-memref after `params`; 0: none.
  int64_t workspaceBytes = 0, workspaceZeroBytes = 0;
  /// The caller's workspace (attn_bundle_launch_with_workspace), zeroed
  /// when it was allocated; 0: allocate one for this launch. Its prefix is
  /// cleared before the launch unless the kernel clears it on exit.
  uint64_t callerWorkspace = 0;
  bool workspaceZeroOnExit = false;
};

/// The workspace of a kernel that needs one (the launch's or the
/// caller's), in stream order: `alloc(bytes, ptr)`, `zero(ptr, bytes)` and
/// `release(ptr)` are the driver's stream-ordered calls returning its
/// error code (0: success),
/// `err` names a code. On success the workspace's flat-memref descriptor
/// follows l.params and `ptr` is to be released after the launch.
/// With a caller's workspace (l.callerWorkspace) nothing is allocated and
/// `ptr` stays 0; its prefix is cleared only for a kernel that leaves it
/// dirty.
template <typename Alloc, typename Zero, typename Release, typename Err>
attn_status bindWorkspace(const std::string &entry, GpuLaunch &l, uint64_t &ptr,
                              Alloc alloc, Zero zero, Release release, Err err) {
  size_t bytes = static_cast<size_t>(l.workspaceBytes);
  size_t zeroed = static_cast<size_t>(l.workspaceZeroBytes);
  uint64_t base = l.callerWorkspace;
  int r = 0;
  if (base) {
    if (zeroed && !l.workspaceZeroOnExit)
      r = zero(base, zeroed);
  } else {
    r = alloc(bytes, ptr);
    if (r == 0 && zeroed && (r = zero(ptr, zeroed)) != 0)
      release(ptr);
    base = ptr;
  }
  if (r != 0) {
    ptr = 0;
    return fail(ATTN_ERR_LAUNCH,
                "workspace of " + std::to_string(bytes) + " bytes for " + entry + ": " + err(r));
  }
  const uint64_t words[5] = {base, base, 0, bytes / 4, 1};
  l.params.insert(l.params.end(), words, words + 5);
  return ATTN_OK;
}

/// Loads the driver, initializes it and makes a context current; reports
/// the device's architecture. NO_DRIVER / NO_DEVICE on failure.
attn_status cudaDevice(GpuDevice &out);
attn_status cudaLaunch(KernelInfo &k, const GpuDevice &dev, GpuLaunch &l, void *stream);
void cudaUnload(KernelInfo &k);

attn_status hipDevice(GpuDevice &out);
attn_status hipLaunch(KernelInfo &k, const GpuDevice &dev, GpuLaunch &l, void *stream);
void hipUnload(KernelInfo &k);

/// How well kernel `k` runs on a device of architecture `arch`: 0 = not at
/// all, 1 = PTX JIT, 2 = cubin of an older minor version, 3 = exact.
int gpuCompatibility(const KernelInfo &k, const std::string &arch);

/// True when ATTN_RUNTIME_SYNC is set to a non-empty value other than "0".
bool syncRequested();

/// Library path of a driver: the environment override if set, else `dflt`.
std::string driverPath(const char *envVar, const char *dflt);

/// `name` in the dlopen'ed library `lib`, or nullptr with the name added
/// to the comma-separated `missing`.
void *driverSymbol(void *lib, const char *name, std::string &missing);
template <typename T> bool sym(void *lib, const char *name, T &fn, std::string &missing) {
  fn = reinterpret_cast<T>(driverSymbol(lib, name, missing));
  return fn != nullptr;
}

/// Pointers to the launch's parameter words, as a driver's launch call
/// takes them (`l` must outlive them).
std::vector<void *> paramPointers(GpuLaunch &l);

/// "entry grid=(x,y,z) block=(x,y,z) smem=bytes", for launch errors.
std::string launchDescription(const KernelInfo &k, const GpuLaunch &l);

/// Unloads every module of `k` through its driver table's `unload` entry
/// (CudaDriver::cuModuleUnload, HipDriver::hipModuleUnload).
template <typename Driver> void unloadModules(KernelInfo &k, int (*Driver::*unload)(void *)) {
  std::lock_guard<std::mutex> lock(k.mu);
  for (GpuModule &m : k.modules) {
    auto *d = static_cast<const Driver *>(m.driver);
    if (d && d->*unload && m.module)
      (d->*unload)(m.module);
  }
  k.modules.clear();
}

} // namespace attn_rt

struct attn_bundle {
  std::string name, spec, dir;
  int64_t workspaceBytes = 0;
  attn_rt::Formula::Env constants;
  std::vector<attn_rt::ArgInfo> args;
  std::vector<std::unique_ptr<attn_rt::KernelInfo>> kernels;
  size_t numTensors = 0;
};

#endif // ATTN_RUNTIME_INTERNAL_H
