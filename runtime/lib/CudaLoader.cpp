//===- CudaLoader.cpp - CUDA driver API through dlopen -------------------===//
//
// libcuda.so.1 is opened at run time (ATTN_CUDA_LIBRARY overrides the path,
// which the tests use for a fake driver); nothing links CUDA. The few entry
// points are declared here with CUresult as int and handles as void *.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <dlfcn.h>
#include <map>

namespace attn_rt {
namespace {

// Values from cuda.h.
constexpr int kCudaErrorNoDevice = 100;
constexpr int kCudaErrorNoBinaryForGpu = 209;
constexpr int kAttrCcMajor = 75;         // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR
constexpr int kAttrCcMinor = 76;         // CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR
constexpr int kAttrSmemOptin = 97;       // CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN
constexpr int kAttrMultiprocessors = 16; // CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT
constexpr int kFuncAttrMaxDynSmem = 8;   // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
constexpr int kJitErrorLogBuffer = 5;    // CU_JIT_ERROR_LOG_BUFFER
constexpr int kJitErrorLogBufferSize = 6; // CU_JIT_ERROR_LOG_BUFFER_SIZE_BYTES
constexpr int kDefaultSmemLimit = 48 * 1024;
// CUtensorMapDataType, CUtensorMapInterleave, CUtensorMapSwizzle,
// CUtensorMapL2promotion, CUtensorMapFloatOOBfill.
constexpr int kTmaFloat16 = 6, kTmaFloat32 = 7, kTmaBfloat16 = 9;
constexpr int kTmaInterleaveNone = 0;
constexpr int kTmaL2Promotion256B = 3;
constexpr int kTmaOobFillZero = 0; // CU_TENSOR_MAP_FLOAT_OOB_FILL_NONE: zeros

/// CUtensorMap: 128 opaque bytes, 64-byte aligned.
struct alignas(64) TensorMap {
  uint64_t words[16];
};

struct CudaDriver {
  std::string path;
  void *lib = nullptr;
  attn_status status = ATTN_OK; // of loading + cuInit
  std::string error;

  int (*cuInit)(unsigned) = nullptr;
  int (*cuDeviceGetCount)(int *) = nullptr;
  int (*cuDeviceGet)(int *, int) = nullptr;
  int (*cuDeviceGetAttribute)(int *, int, int) = nullptr;
  int (*cuDevicePrimaryCtxRetain)(void **, int) = nullptr;
  int (*cuCtxGetCurrent)(void **) = nullptr;
  int (*cuCtxSetCurrent)(void *) = nullptr;
  int (*cuCtxGetDevice)(int *) = nullptr;
  int (*cuModuleLoadDataEx)(void **, const void *, unsigned, int *, void **) = nullptr;
  int (*cuModuleGetFunction)(void **, void *, const char *) = nullptr;
  int (*cuModuleUnload)(void *) = nullptr;
  int (*cuFuncSetAttribute)(void *, int, int) = nullptr;
  int (*cuLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                        unsigned, void *, void **, void **) = nullptr;
  int (*cuGetErrorString)(int, const char **) = nullptr;
  int (*cuStreamSynchronize)(void *) = nullptr;
  // Stream-ordered allocation (CUDA 11.2+); only kernels with a workspace
  // need them, so a driver without them still loads.
  int (*cuMemAllocAsync)(uint64_t *, size_t, void *) = nullptr;
  int (*cuMemsetD8Async)(uint64_t, unsigned char, size_t, void *) = nullptr;
  int (*cuMemFreeAsync)(uint64_t, void *) = nullptr;
  // CUDA 12+; only TMA kernels need it, so a driver without it still loads.
  int (*cuTensorMapEncodeTiled)(TensorMap *, int, unsigned, void *, const uint64_t *,
                                const uint64_t *, const unsigned *, const unsigned *, int, int,
                                int, int) = nullptr;

  std::mutex mu;                    // guards the caches below
  std::map<int, void *> primaryCtx; // device -> retained primary context
  std::map<int, std::string> archOf;
  std::map<int, int> multiprocessorsOf;

  std::string err(int r) const {
    const char *s = nullptr;
    if (cuGetErrorString)
      cuGetErrorString(r, &s);
    return std::string(s ? s : "unknown CUDA error") + " (" + std::to_string(r) + ")";
  }
};

CudaDriver &driver() {
  static std::mutex m;
  // Never freed (modules may outlive bundles); a leaked pointer keeps it reachable.
  static auto *drivers = new std::map<std::string, CudaDriver *>();
  std::string path = driverPath("ATTN_CUDA_LIBRARY", "libcuda.so.1");
  std::lock_guard<std::mutex> lock(m);
  CudaDriver *&d = (*drivers)[path];
  if (d)
    return *d;
  d = new CudaDriver();
  d->path = path;
  d->lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!d->lib) {
    d->status = ATTN_ERR_NO_DRIVER;
    d->error = "CUDA driver (" + path + ") not found";
    return *d;
  }
  std::string missing;
  sym(d->lib, "cuInit", d->cuInit, missing);
  sym(d->lib, "cuDeviceGetCount", d->cuDeviceGetCount, missing);
  sym(d->lib, "cuDeviceGet", d->cuDeviceGet, missing);
  sym(d->lib, "cuDeviceGetAttribute", d->cuDeviceGetAttribute, missing);
  sym(d->lib, "cuDevicePrimaryCtxRetain", d->cuDevicePrimaryCtxRetain, missing);
  sym(d->lib, "cuCtxGetCurrent", d->cuCtxGetCurrent, missing);
  sym(d->lib, "cuCtxSetCurrent", d->cuCtxSetCurrent, missing);
  sym(d->lib, "cuCtxGetDevice", d->cuCtxGetDevice, missing);
  sym(d->lib, "cuModuleLoadDataEx", d->cuModuleLoadDataEx, missing);
  sym(d->lib, "cuModuleGetFunction", d->cuModuleGetFunction, missing);
  sym(d->lib, "cuModuleUnload", d->cuModuleUnload, missing);
  sym(d->lib, "cuFuncSetAttribute", d->cuFuncSetAttribute, missing);
  sym(d->lib, "cuLaunchKernel", d->cuLaunchKernel, missing);
  sym(d->lib, "cuGetErrorString", d->cuGetErrorString, missing);
  sym(d->lib, "cuStreamSynchronize", d->cuStreamSynchronize, missing);
  std::string optional;
  sym(d->lib, "cuTensorMapEncodeTiled", d->cuTensorMapEncodeTiled, optional);
  sym(d->lib, "cuMemAllocAsync", d->cuMemAllocAsync, optional);
  sym(d->lib, "cuMemsetD8Async", d->cuMemsetD8Async, optional);
  sym(d->lib, "cuMemFreeAsync", d->cuMemFreeAsync, optional);
  if (!missing.empty()) {
    d->status = ATTN_ERR_NO_DRIVER;
    d->error = "CUDA driver (" + path + ") lacks " + missing;
    return *d;
  }
  int r = d->cuInit(0);
  if (r != 0) {
    d->status = ATTN_ERR_NO_DEVICE;
    d->error = r == kCudaErrorNoDevice ? "no CUDA device (cuInit: " + d->err(r) + ")"
                                       : "cuInit failed: " + d->err(r);
  }
  return *d;
}

/// Encodes a tiled tensor map: dims and box innermost first, the tensor
/// dense; elements outside it read as zeros.
attn_status encodeTensorMap(CudaDriver &d, const TensorMapRequest &req, TensorMap &out) {
  if (!d.cuTensorMapEncodeTiled)
    return fail(ATTN_ERR_LAUNCH, "the kernel takes TMA tensor maps and the CUDA driver (" +
                                     d.path + ") lacks cuTensorMapEncodeTiled (CUDA 12+)");
  int type = req.dtype == "f16" ? kTmaFloat16 : req.dtype == "bf16" ? kTmaBfloat16 : kTmaFloat32;
  uint64_t eltBytes = req.dtype == "f32" ? 4 : 2;
  size_t rank = req.dims.size();
  // Strides of dimensions 1..rank-1 in bytes (dimension 0 is contiguous).
  std::vector<uint64_t> strides;
  uint64_t stride = eltBytes;
  for (size_t i = 0; i + 1 < rank; ++i) {
    stride *= req.dims[i];
    strides.push_back(stride);
  }
  std::vector<unsigned> elementStrides(rank, 1);
  int swizzle = req.swizzle == 128 ? 3 : req.swizzle == 64 ? 2 : req.swizzle == 32 ? 1 : 0;
  int r = d.cuTensorMapEncodeTiled(&out, type, static_cast<unsigned>(rank), req.address,
                                   req.dims.data(), strides.data(), req.box.data(),
                                   elementStrides.data(), kTmaInterleaveNone, swizzle,
                                   kTmaL2Promotion256B, kTmaOobFillZero);
  if (r != 0) {
    std::string dims;
    for (uint64_t v : req.dims)
      dims += (dims.empty() ? "" : "x") + std::to_string(v);
    return fail(ATTN_ERR_INVALID, "cuTensorMapEncodeTiled(" + req.dtype + " " + dims +
                                      ", innermost first): " + d.err(r) +
                                      " (TMA needs a 16-byte aligned address and rows: the "
                                      "innermost dimension times the element size a multiple "
                                      "of 16)");
  }
  return ATTN_OK;
}

} // namespace

attn_status cudaDevice(GpuDevice &out) {
  CudaDriver &d = driver();
  if (d.status != ATTN_OK)
    return fail(d.status, d.error);
  void *ctx = nullptr;
  int dev = 0, r = d.cuCtxGetCurrent(&ctx);
  if (r != 0)
    return fail(ATTN_ERR_NO_DEVICE, "cuCtxGetCurrent: " + d.err(r));
  std::lock_guard<std::mutex> lock(d.mu);
  if (ctx) {
    if ((r = d.cuCtxGetDevice(&dev)) != 0)
      return fail(ATTN_ERR_NO_DEVICE, "cuCtxGetDevice: " + d.err(r));
  } else {
    // No current context on this thread: device 0's primary context, as
    // the CUDA runtime would use.
    int count = 0;
    if ((r = d.cuDeviceGetCount(&count)) != 0 || count == 0)
      return fail(ATTN_ERR_NO_DEVICE, r ? "cuDeviceGetCount: " + d.err(r) : "no CUDA device");
    if ((r = d.cuDeviceGet(&dev, 0)) != 0)
      return fail(ATTN_ERR_NO_DEVICE, "cuDeviceGet: " + d.err(r));
    void *&primary = d.primaryCtx[dev];
    if (!primary && (r = d.cuDevicePrimaryCtxRetain(&primary, dev)) != 0) {
      primary = nullptr;
      return fail(ATTN_ERR_NO_DEVICE, "cuDevicePrimaryCtxRetain: " + d.err(r));
    }
    if ((r = d.cuCtxSetCurrent(primary)) != 0)
      return fail(ATTN_ERR_NO_DEVICE, "cuCtxSetCurrent: " + d.err(r));
    ctx = primary;
  }
  std::string &arch = d.archOf[dev];
  if (arch.empty()) {
    int major = 0, minor = 0;
    if ((r = d.cuDeviceGetAttribute(&major, kAttrCcMajor, dev)) != 0 ||
        (r = d.cuDeviceGetAttribute(&minor, kAttrCcMinor, dev)) != 0)
      return fail(ATTN_ERR_NO_DEVICE, "cuDeviceGetAttribute: " + d.err(r));
    arch = "sm_" + std::to_string(major) + std::to_string(minor);
  }
  int &sms = d.multiprocessorsOf[dev];
  if (sms <= 0 && (r = d.cuDeviceGetAttribute(&sms, kAttrMultiprocessors, dev)) != 0)
    return fail(ATTN_ERR_NO_DEVICE, "cuDeviceGetAttribute: " + d.err(r));
  out.multiprocessors = sms;
  out.arch = arch;
  out.key = ctx;
  return ATTN_OK;
}

attn_status cudaLaunch(KernelInfo &k, const GpuDevice &dev, GpuLaunch &l, void *stream) {
  CudaDriver &d = driver();
  if (d.status != ATTN_OK)
    return fail(d.status, d.error);
  void *function = nullptr;
  attn_status loaded = moduleFunction(
      k, &d, dev.key, function, [&](const std::vector<uint8_t> &bytes, GpuModule &m) {
        std::vector<uint8_t> image(bytes);
        if (k.format == "ptx")
          image.push_back(0); // PTX is loaded as a NUL-terminated string
        char log[4096] = {0};
        int opts[2] = {kJitErrorLogBuffer, kJitErrorLogBufferSize};
        void *vals[2] = {log, reinterpret_cast<void *>(static_cast<uintptr_t>(sizeof(log) - 1))};
        int r = d.cuModuleLoadDataEx(&m.module, image.data(), 2, opts, vals);
        if (r != 0) {
          std::string msg = "cuModuleLoadData(" + k.file + ") on " + dev.arch + ": " + d.err(r);
          if (log[0])
            msg += "\n" + std::string(log);
          return fail(r == kCudaErrorNoBinaryForGpu ? ATTN_ERR_NO_BINARY : ATTN_ERR_LAUNCH, msg);
        }
        if ((r = d.cuModuleGetFunction(&m.function, m.module, k.entry.c_str())) != 0) {
          d.cuModuleUnload(m.module);
          return fail(ATTN_ERR_LAUNCH,
                      "kernel entry " + k.entry + " not found in " + k.file + ": " + d.err(r));
        }
        if (l.smem > static_cast<unsigned>(kDefaultSmemLimit) &&
            (r = d.cuFuncSetAttribute(m.function, kFuncAttrMaxDynSmem,
                                      static_cast<int>(l.smem))) != 0) {
          int optin = 0, devId = 0;
          d.cuCtxGetDevice(&devId);
          d.cuDeviceGetAttribute(&optin, kAttrSmemOptin, devId);
          d.cuModuleUnload(m.module);
          return fail(ATTN_ERR_LAUNCH, k.entry + " needs " + std::to_string(l.smem) +
                                           " bytes of dynamic shared memory; the device allows " +
                                           std::to_string(optin) + ": " + d.err(r));
        }
        return ATTN_OK;
      });
  if (loaded != ATTN_OK)
    return loaded;
  std::vector<TensorMap> maps(l.tensorMaps.size());
  for (size_t i = 0; i < maps.size(); ++i)
    if (attn_status s = encodeTensorMap(d, l.tensorMaps[i], maps[i]); s != ATTN_OK)
      return s;
  // The workspace lives on the launch's stream: allocated, zeroed, used
  // and freed in stream order, so concurrent launches never share one
  // (a caller's workspace: at most cleared, in stream order).
  uint64_t workspace = 0;
  if (l.workspaceBytes > 0) {
    if (!d.cuMemsetD8Async ||
        (!l.callerWorkspace && (!d.cuMemAllocAsync || !d.cuMemFreeAsync)))
      return fail(ATTN_ERR_NO_DRIVER, "CUDA driver (" + d.path +
                                          ") lacks cuMemAllocAsync / cuMemsetD8Async / "
                                          "cuMemFreeAsync, which " +
                                          k.entry + "'s workspace needs");
    attn_status s = bindWorkspace(
        k.entry, l, workspace,
        [&](size_t n, uint64_t &p) { return d.cuMemAllocAsync(&p, n, stream); },
        [&](uint64_t p, size_t n) { return d.cuMemsetD8Async(p, 0, n, stream); },
        [&](uint64_t p) { d.cuMemFreeAsync(p, stream); },
        [&](int r) { return d.err(r); });
    if (s != ATTN_OK)
      return s;
  }
  std::vector<void *> params = paramPointers(l);
  for (TensorMap &m : maps)
    params.push_back(&m);
  int r = d.cuLaunchKernel(function, l.grid[0], l.grid[1], l.grid[2], l.block[0], l.block[1],
                           l.block[2], l.smem, stream, params.data(), nullptr);
  if (workspace)
    d.cuMemFreeAsync(workspace, stream);
  if (r != 0)
    return fail(ATTN_ERR_LAUNCH, "cuLaunchKernel(" + launchDescription(k, l) + "): " + d.err(r));
  if (syncRequested() && (r = d.cuStreamSynchronize(stream)) != 0)
    return fail(ATTN_ERR_LAUNCH, "kernel " + launchDescription(k, l) + " failed: " + d.err(r));
  return ATTN_OK;
}

void cudaUnload(KernelInfo &k) { unloadModules(k, &CudaDriver::cuModuleUnload); }

} // namespace attn_rt
