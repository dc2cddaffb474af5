//===- HipLoader.cpp - HIP module API through dlopen ---------------------===//
//
// libamdhip64.so is opened at run time (ATTN_HIP_LIBRARY overrides the path);
// nothing links ROCm. hipError_t is an int and handles are void *.
//
// The architecture name (gcnArchName, e.g. "gfx942:sramecc+:xnack-") lives in
// hipDeviceProp_t, whose layout changes between ROCm releases; rather than
// hard-coding an offset, the properties are read into a large zeroed buffer
// and scanned for the NUL-terminated string that starts with "gfx".
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <map>

namespace attn_rt {
namespace {

constexpr int kHipErrorNoDevice = 100;

struct HipDriver {
  std::string path;
  void *lib = nullptr;
  attn_status status = ATTN_OK;
  std::string error;

  int (*hipInit)(unsigned) = nullptr;
  int (*hipGetDeviceCount)(int *) = nullptr;
  int (*hipGetDevice)(int *) = nullptr;
  int (*hipGetDeviceProperties)(void *, int) = nullptr;
  int (*hipModuleLoadData)(void **, const void *) = nullptr;
  int (*hipModuleGetFunction)(void **, void *, const char *) = nullptr;
  int (*hipModuleUnload)(void *) = nullptr;
  int (*hipModuleLaunchKernel)(void *, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned,
                               unsigned, void *, void **, void **) = nullptr;
  const char *(*hipGetErrorString)(int) = nullptr;
  int (*hipStreamSynchronize)(void *) = nullptr;
  // Stream-ordered allocation (ROCm 5.3+); only kernels with a workspace
  // (stream-K) need it, so a runtime without it still runs the others.
  int (*hipMallocAsync)(void **, size_t, void *) = nullptr;
  int (*hipMemsetAsync)(void *, int, size_t, void *) = nullptr;
  int (*hipFreeAsync)(void *, void *) = nullptr;

  std::mutex mu;
  std::map<int, std::string> archOf;

  std::string err(int r) const {
    const char *s = hipGetErrorString ? hipGetErrorString(r) : nullptr;
    return std::string(s ? s : "unknown HIP error") + " (" + std::to_string(r) + ")";
  }
};

HipDriver &driver() {
  static std::mutex m;
  // Never freed (modules may outlive bundles); a leaked pointer keeps it reachable.
  static auto *drivers = new std::map<std::string, HipDriver *>();
  const char *override = std::getenv("ATTN_HIP_LIBRARY");
  std::string key = override && *override ? override : "";
  std::lock_guard<std::mutex> lock(m);
  HipDriver *&d = (*drivers)[key];
  if (d)
    return *d;
  d = new HipDriver();
  const char *const defaults[] = {"libamdhip64.so", "libamdhip64.so.7", "libamdhip64.so.6",
                                  "/opt/rocm/lib/libamdhip64.so"};
  if (!key.empty()) {
    d->path = key;
    d->lib = dlopen(key.c_str(), RTLD_NOW | RTLD_LOCAL);
  } else {
    for (const char *p : defaults)
      if ((d->lib = dlopen(p, RTLD_NOW | RTLD_LOCAL))) {
        d->path = p;
        break;
      }
  }
  if (!d->lib) {
    d->status = ATTN_ERR_NO_DRIVER;
    d->error = "HIP runtime (" + (key.empty() ? std::string("libamdhip64.so") : key) +
               ") not found";
    return *d;
  }
  std::string missing;
  sym(d->lib, "hipInit", d->hipInit, missing);
  sym(d->lib, "hipGetDeviceCount", d->hipGetDeviceCount, missing);
  sym(d->lib, "hipGetDevice", d->hipGetDevice, missing);
  // ROCm 6 exports the current layout as ...R0600; older ones only the plain name.
  d->hipGetDeviceProperties =
      reinterpret_cast<int (*)(void *, int)>(dlsym(d->lib, "hipGetDevicePropertiesR0600"));
  if (!d->hipGetDeviceProperties)
    sym(d->lib, "hipGetDeviceProperties", d->hipGetDeviceProperties, missing);
  sym(d->lib, "hipModuleLoadData", d->hipModuleLoadData, missing);
  sym(d->lib, "hipModuleGetFunction", d->hipModuleGetFunction, missing);
  sym(d->lib, "hipModuleUnload", d->hipModuleUnload, missing);
  sym(d->lib, "hipModuleLaunchKernel", d->hipModuleLaunchKernel, missing);
  sym(d->lib, "hipGetErrorString", d->hipGetErrorString, missing);
  sym(d->lib, "hipStreamSynchronize", d->hipStreamSynchronize, missing);
  std::string optional;
  sym(d->lib, "hipMallocAsync", d->hipMallocAsync, optional);
  sym(d->lib, "hipMemsetAsync", d->hipMemsetAsync, optional);
  sym(d->lib, "hipFreeAsync", d->hipFreeAsync, optional);
  if (!missing.empty()) {
    d->status = ATTN_ERR_NO_DRIVER;
    d->error = "HIP runtime (" + d->path + ") lacks " + missing;
    return *d;
  }
  int r = d->hipInit(0);
  if (r != 0) {
    d->status = ATTN_ERR_NO_DEVICE;
    d->error = r == kHipErrorNoDevice ? "no HIP device (hipInit: " + d->err(r) + ")"
                                      : "hipInit failed: " + d->err(r);
  }
  return *d;
}

/// The "gfx..." architecture in a hipDeviceProp_t of unknown layout.
std::string findGfxArch(const std::vector<char> &props) {
  for (size_t i = 0; i + 4 < props.size(); ++i) {
    if (std::strncmp(&props[i], "gfx", 3) != 0 ||
        !std::isdigit(static_cast<unsigned char>(props[i + 3])))
      continue;
    size_t j = i + 3;
    while (j < props.size() && std::isalnum(static_cast<unsigned char>(props[j])))
      ++j;
    if (j > i + 3 && j < props.size() && (props[j] == '\0' || props[j] == ':'))
      return std::string(&props[i], j - i);
  }
  return "";
}

} // namespace

attn_status hipDevice(GpuDevice &out) {
  HipDriver &d = driver();
  if (d.status != ATTN_OK)
    return fail(d.status, d.error);
  int count = 0, dev = 0, r;
  if ((r = d.hipGetDeviceCount(&count)) != 0 || count == 0)
    return fail(ATTN_ERR_NO_DEVICE, r ? "hipGetDeviceCount: " + d.err(r) : "no HIP device");
  if ((r = d.hipGetDevice(&dev)) != 0)
    return fail(ATTN_ERR_NO_DEVICE, "hipGetDevice: " + d.err(r));
  std::lock_guard<std::mutex> lock(d.mu);
  std::string &arch = d.archOf[dev];
  if (arch.empty()) {
    std::vector<char> props(64 * 1024, 0);
    if ((r = d.hipGetDeviceProperties(props.data(), dev)) != 0)
      return fail(ATTN_ERR_NO_DEVICE, "hipGetDeviceProperties: " + d.err(r));
    arch = findGfxArch(props);
    if (arch.empty())
      return fail(ATTN_ERR_NO_DEVICE, "cannot find the gfx architecture of HIP device " +
                                          std::to_string(dev));
  }
  out.arch = arch;
  out.key = reinterpret_cast<void *>(static_cast<intptr_t>(dev) + 1);
  return ATTN_OK;
}

attn_status hipLaunch(KernelInfo &k, const GpuDevice &dev, GpuLaunch &l, void *stream) {
  HipDriver &d = driver();
  if (d.status != ATTN_OK)
    return fail(d.status, d.error);
  void *function = nullptr;
  attn_status loaded = moduleFunction(
      k, &d, dev.key, function, [&](const std::vector<uint8_t> &bytes, GpuModule &m) {
        int r = d.hipModuleLoadData(&m.module, bytes.data());
        if (r != 0)
          return fail(ATTN_ERR_LAUNCH,
                      "hipModuleLoadData(" + k.file + ") on " + dev.arch + ": " + d.err(r));
        if ((r = d.hipModuleGetFunction(&m.function, m.module, k.entry.c_str())) != 0) {
          d.hipModuleUnload(m.module);
          return fail(ATTN_ERR_LAUNCH,
                      "kernel entry " + k.entry + " not found in " + k.file + ": " + d.err(r));
        }
        return ATTN_OK;
      });
  if (loaded != ATTN_OK)
    return loaded;
  // The workspace lives on the launch's stream: allocated, zeroed, used
  // and freed in stream order, so concurrent launches never share one
  // (a caller's workspace: at most cleared, in stream order).
  uint64_t workspace = 0;
  auto pointer = [](uint64_t p) { return reinterpret_cast<void *>(static_cast<uintptr_t>(p)); };
  if (l.workspaceBytes > 0) {
    if (!d.hipMemsetAsync ||
        (!l.callerWorkspace && (!d.hipMallocAsync || !d.hipFreeAsync)))
      return fail(ATTN_ERR_NO_DRIVER, "HIP runtime (" + d.path +
                                          ") lacks hipMallocAsync / hipMemsetAsync / "
                                          "hipFreeAsync, which " +
                                          k.entry + "'s workspace needs");
    attn_status s = bindWorkspace(
        k.entry, l, workspace,
        [&](size_t n, uint64_t &p) {
          void *ptr = nullptr;
          int r = d.hipMallocAsync(&ptr, n, stream);
          p = reinterpret_cast<uintptr_t>(ptr);
          return r;
        },
        [&](uint64_t p, size_t n) { return d.hipMemsetAsync(pointer(p), 0, n, stream); },
        [&](uint64_t p) { d.hipFreeAsync(pointer(p), stream); },
        [&](int r) { return d.err(r); });
    if (s != ATTN_OK)
      return s;
  }
  std::vector<void *> params = paramPointers(l);
  int r = d.hipModuleLaunchKernel(function, l.grid[0], l.grid[1], l.grid[2], l.block[0],
                                  l.block[1], l.block[2], l.smem, stream, params.data(), nullptr);
  if (workspace)
    d.hipFreeAsync(pointer(workspace), stream);
  if (r != 0)
    return fail(ATTN_ERR_LAUNCH,
                "hipModuleLaunchKernel(" + launchDescription(k, l) + "): " + d.err(r));
  if (syncRequested() && (r = d.hipStreamSynchronize(stream)) != 0)
    return fail(ATTN_ERR_LAUNCH, "kernel " + launchDescription(k, l) + " failed: " + d.err(r));
  return ATTN_OK;
}

void hipUnload(KernelInfo &k) { unloadModules(k, &HipDriver::hipModuleUnload); }

} // namespace attn_rt
