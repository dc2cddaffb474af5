//===- Driver.cpp - a CUDA driver that runs kernels on nvemu --------------===//
//
// libnvemu_cuda.so exports the driver entry points the attn runtime uses
// (ATTN_CUDA_LIBRARY=.../libnvemu_cuda.so), so a bundle goes through the
// runtime's real launch path - device query, module load, dynamic shared
// memory opt-in, kernelParams - and its kernel runs on the emulator.
//
// A module image (PTX or cubin) is matched to its emulation by content:
// `--attn-compile="... emulation=1"` writes DIR/nvemu/<fnv1a64 of the
// binary>.so next to each NVIDIA binary, and ATTN_NVEMU_DIR names that
// folder. "Device memory" is host memory: callers pass host pointers.
// ATTN_NVEMU_ARCH (default sm_80) is the compute capability reported.
//
//===----------------------------------------------------------------------===//

#include "Guarded.h"
#include "Image.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <string>

namespace {

// Values from cuda.h.
constexpr int kSuccess = 0, kInvalidValue = 1, kInvalidImage = 200,
              kNotFound = 500, kLaunchFailed = 719;
constexpr int kSmemDefault = 48 * 1024;

struct Module {
  void *lib;
};
struct Function {
  nvemu_entry entry;
  decltype(&nvemu_launch) launch;
  int maxDynamicSmem = kSmemDefault;
};

thread_local void *current = nullptr;
int primary; // the one context's handle
std::string lastLaunchError;
nvemu::GuardedAllocations allocations;

void archOf(int &major, int &minor) {
  const char *a = std::getenv("ATTN_NVEMU_ARCH");
  std::string s = a ? a : "sm_80";
  int cc = std::atoi(s.c_str() + (s.rfind("sm_", 0) == 0 ? 3 : 0));
  major = cc / 10;
  minor = cc % 10;
}

} // namespace

extern "C" {

int cuInit(unsigned) { return kSuccess; }
int cuDeviceGetCount(int *n) {
  *n = 1;
  return kSuccess;
}
int cuDeviceGet(int *dev, int ordinal) {
  *dev = ordinal;
  return ordinal == 0 ? kSuccess : kInvalidValue;
}
int cuDeviceGetAttribute(int *value, int attr, int) {
  int major, minor;
  archOf(major, minor);
  switch (attr) {
  case 75: *value = major; break;
  case 76: *value = minor; break;
  case 97: *value = major >= 9 ? 227 * 1024 : 163 * 1024; break; // smem opt-in
  case 16: *value = 132; break; // multiprocessors
  default: *value = 0;
  }
  return kSuccess;
}
int cuDevicePrimaryCtxRetain(void **ctx, int) {
  *ctx = &primary;
  return kSuccess;
}
int cuCtxGetCurrent(void **ctx) {
  *ctx = current;
  return kSuccess;
}
int cuCtxSetCurrent(void *ctx) {
  current = ctx;
  return kSuccess;
}
int cuCtxGetDevice(int *dev) {
  *dev = 0;
  return kSuccess;
}

int cuModuleLoadDataEx(void **module, const void *image, unsigned numOptions,
                       int *options, void **values) {
  std::string error;
  void *lib = nvemu::openEmulation(image, error);
  if (!lib) {
    std::string msg = "nvemu: " + std::string(nvemu::isElf(image) ? "cubin: " : "PTX: ") + error;
    // CU_JIT_ERROR_LOG_BUFFER (5) with its size (6).
    char *log = nullptr;
    size_t logSize = 0;
    for (unsigned i = 0; i < numOptions; ++i) {
      if (options[i] == 5)
        log = static_cast<char *>(values[i]);
      if (options[i] == 6)
        logSize = reinterpret_cast<uintptr_t>(values[i]);
    }
    if (log && logSize)
      std::snprintf(log, logSize, "%s", msg.c_str());
    return kInvalidImage;
  }
  *module = new Module{lib};
  return kSuccess;
}

int cuModuleGetFunction(void **function, void *module, const char *name) {
  void *lib = static_cast<Module *>(module)->lib;
  auto entry = reinterpret_cast<nvemu_entry>(
      dlsym(lib, (std::string(name) + "__nvemu").c_str()));
  auto launch = reinterpret_cast<decltype(&nvemu_launch)>(dlsym(lib, "nvemu_launch"));
  if (!entry || !launch)
    return kNotFound;
  *function = new Function{entry, launch};
  return kSuccess;
}

int cuModuleUnload(void *module) {
  auto *m = static_cast<Module *>(module);
  dlclose(m->lib);
  delete m;
  return kSuccess;
}

int cuFuncSetAttribute(void *function, int attr, int value) {
  if (attr != 8) // CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES
    return kSuccess;
  int optin;
  cuDeviceGetAttribute(&optin, 97, 0);
  if (value < 0 || value > optin)
    return kInvalidValue;
  static_cast<Function *>(function)->maxDynamicSmem = value;
  return kSuccess;
}

int cuLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                   unsigned bx, unsigned by, unsigned bz, unsigned smem,
                   void *, void **params, void **extra) {
  auto *f = static_cast<Function *>(function);
  if (extra || !params || smem > static_cast<unsigned>(f->maxDynamicSmem))
    return kInvalidValue;
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  char err[1024] = {0};
  if (f->launch(f->entry, params, grid, block, smem, err, sizeof(err))) {
    lastLaunchError = err;
    std::fprintf(stderr, "nvemu: %s\n", err);
    return kLaunchFailed;
  }
  if (std::string overrun = allocations.check(); !overrun.empty()) {
    lastLaunchError = overrun;
    std::fprintf(stderr, "nvemu: %s\n", overrun.c_str());
    return kLaunchFailed;
  }
  return kSuccess;
}

int cuStreamSynchronize(void *) { return kSuccess; }

// Device memory is host memory; launches run to completion, so the
// stream-ordered calls act at once.
int cuMemAllocAsync(uint64_t *ptr, size_t bytes, void *) {
  void *p = allocations.allocate(bytes);
  if (!p)
    return kInvalidValue;
  *ptr = reinterpret_cast<uintptr_t>(p);
  return kSuccess;
}
int cuMemsetD8Async(uint64_t ptr, unsigned char value, size_t bytes, void *) {
  std::memset(reinterpret_cast<void *>(static_cast<uintptr_t>(ptr)), value, bytes);
  return kSuccess;
}
int cuMemFreeAsync(uint64_t ptr, void *) {
  return allocations.release(reinterpret_cast<void *>(static_cast<uintptr_t>(ptr)))
             ? kSuccess
             : kInvalidValue;
}

static_assert(sizeof(nvemu_tensor_map) <= 128, "a CUtensorMap has 128 bytes");

/// Checks the rules the CUDA driver documents for cuTensorMapEncodeTiled
/// and records the map for the emulator's TMA loads.
int cuTensorMapEncodeTiled(void *out, int dtype, unsigned rank, void *address,
                           const uint64_t *dims, const uint64_t *strides,
                           const unsigned *box, const unsigned *elementStrides,
                           int interleave, int swizzle, int, int oobFill) {
  unsigned eltBytes = dtype == 6 || dtype == 9 ? 2 : dtype == 7 ? 4 : 0;
  unsigned span = swizzle == 1 ? 32 : swizzle == 2 ? 64 : swizzle == 3 ? 128 : 0;
  if (!out || eltBytes == 0 || rank < 1 || rank > 5 || interleave != 0 ||
      swizzle < 0 || swizzle > 3 || oobFill != 0 ||
      reinterpret_cast<uintptr_t>(address) % 16)
    return kInvalidValue;
  nvemu_tensor_map m;
  std::memset(&m, 0, sizeof(m));
  m.magic = NVEMU_TENSOR_MAP_MAGIC;
  m.rank = rank;
  m.element_bytes = eltBytes;
  m.swizzle_bytes = span;
  m.address = reinterpret_cast<uintptr_t>(address);
  for (unsigned d = 0; d < rank; ++d) {
    if (dims[d] == 0 || dims[d] > (uint64_t(1) << 32) || box[d] == 0 || box[d] > 256 ||
        elementStrides[d] != 1)
      return kInvalidValue;
    m.dims[d] = dims[d];
    m.box[d] = box[d];
    m.strides[d] = d == 0 ? eltBytes : strides[d - 1];
    if (d > 0 && (strides[d - 1] % 16 || strides[d - 1] >= (uint64_t(1) << 40)))
      return kInvalidValue;
  }
  unsigned rowBytes = box[0] * eltBytes;
  if (rowBytes % 16 || (span && rowBytes > span))
    return kInvalidValue;
  // Rows narrower than the swizzle span: the emulator does not model them.
  if (span && rowBytes != span)
    return kInvalidValue;
  std::memset(out, 0, 128);
  std::memcpy(out, &m, sizeof(m));
  return kSuccess;
}

int cuGetErrorString(int error, const char **str) {
  switch (error) {
  case kSuccess: *str = "no error"; break;
  case kInvalidValue: *str = "invalid argument"; break;
  case kInvalidImage: *str = "device kernel image is invalid (nvemu: no emulation)"; break;
  case kNotFound: *str = "named symbol not found"; break;
  case kLaunchFailed:
    *str = lastLaunchError.empty() ? "unspecified launch failure" : lastLaunchError.c_str();
    break;
  default: *str = "unknown error";
  }
  return kSuccess;
}

} // extern "C"
