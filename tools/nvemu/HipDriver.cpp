//===- HipDriver.cpp - a HIP runtime that runs kernels on the emulator ----===//
//
// libamdemu_hip.so exports the HIP entry points the attn runtime uses
// (ATTN_HIP_LIBRARY=.../libamdemu_hip.so), so an AMD bundle goes through the
// runtime's real launch path - device query, module load, kernelParams -
// and its kernel runs on the emulator in wave64 mode. A HSACO is matched to
// its emulation by content (Image.h). "Device memory" is host memory.
// ATTN_AMDEMU_ARCH (default gfx942) is the architecture reported.
//
//===----------------------------------------------------------------------===//

#include "Guarded.h"
#include "Image.h"

namespace {

// Values from hip_runtime_api.h.
constexpr int kSuccess = 0, kInvalidValue = 1, kInvalidImage = 200,
              kNotFound = 500, kLaunchFailure = 719;

struct Function {
  nvemu_entry entry;
  decltype(&amdemu_launch) launch;
  unsigned staticLds;
};

std::string lastError;
nvemu::GuardedAllocations allocations;

} // namespace

extern "C" {

int hipInit(unsigned) { return kSuccess; }
int hipGetDeviceCount(int *n) {
  *n = 1;
  return kSuccess;
}
int hipGetDevice(int *dev) {
  *dev = 0;
  return kSuccess;
}
/// The runtime finds the architecture as the first "gfx..." string in the
/// properties, whatever their layout.
int hipGetDeviceProperties(void *props, int) {
  const char *arch = std::getenv("ATTN_AMDEMU_ARCH");
  std::snprintf(static_cast<char *>(props) + 256, 64, "%s:sramecc+:xnack-",
                arch && *arch ? arch : "gfx942");
  return kSuccess;
}
int hipGetDevicePropertiesR0600(void *props, int dev) {
  return hipGetDeviceProperties(props, dev);
}

int hipModuleLoadData(void **module, const void *image) {
  if (!nvemu::isElf(image)) {
    lastError = "amdemu: the image is not a HSACO (ELF)";
    return kInvalidImage;
  }
  std::string error;
  void *lib = nvemu::openEmulation(image, error);
  if (!lib) {
    lastError = "amdemu: " + error;
    std::fprintf(stderr, "%s\n", lastError.c_str());
    return kInvalidImage;
  }
  *module = lib;
  return kSuccess;
}

int hipModuleGetFunction(void **function, void *module, const char *name) {
  auto entry = reinterpret_cast<nvemu_entry>(
      dlsym(module, (std::string(name) + "__amdemu").c_str()));
  auto launch =
      reinterpret_cast<decltype(&amdemu_launch)>(dlsym(module, "amdemu_launch"));
  auto *lds = static_cast<const int32_t *>(dlsym(module, "__amdemu_lds_bytes"));
  if (!entry || !launch || !lds)
    return kNotFound;
  *function = new Function{entry, launch, static_cast<unsigned>(*lds)};
  return kSuccess;
}

int hipModuleUnload(void *module) {
  dlclose(module);
  return kSuccess;
}

int hipModuleLaunchKernel(void *function, unsigned gx, unsigned gy, unsigned gz,
                          unsigned bx, unsigned by, unsigned bz,
                          unsigned sharedMemBytes, void *, void **params,
                          void **extra) {
  auto *f = static_cast<Function *>(function);
  if (extra || !params)
    return kInvalidValue;
  unsigned grid[3] = {gx, gy, gz}, block[3] = {bx, by, bz};
  char err[1024] = {0};
  if (f->launch(f->entry, params, grid, block, f->staticLds + sharedMemBytes,
                err, sizeof(err))) {
    lastError = std::string("amdemu: ") + err;
    std::fprintf(stderr, "%s\n", lastError.c_str());
    return kLaunchFailure;
  }
  if (std::string overrun = allocations.check(); !overrun.empty()) {
    lastError = "amdemu: " + overrun;
    std::fprintf(stderr, "%s\n", lastError.c_str());
    return kLaunchFailure;
  }
  return kSuccess;
}

int hipStreamSynchronize(void *) { return kSuccess; }

// "Device memory" is host memory; launches run to completion in order, so
// stream order is program order.
int hipMallocAsync(void **ptr, size_t bytes, void *) {
  *ptr = allocations.allocate(bytes);
  return *ptr ? kSuccess : kInvalidValue;
}
int hipMemsetAsync(void *ptr, int value, size_t bytes, void *) {
  std::memset(ptr, value, bytes);
  return kSuccess;
}
int hipFreeAsync(void *ptr, void *) {
  return allocations.release(ptr) ? kSuccess : kInvalidValue;
}

const char *hipGetErrorString(int r) {
  switch (r) {
  case kSuccess: return "hipSuccess";
  case kInvalidValue: return "hipErrorInvalidValue";
  case kInvalidImage: return "hipErrorInvalidImage";
  case kNotFound: return "hipErrorNotFound";
  case kLaunchFailure: return lastError.empty() ? "hipErrorLaunchFailure" : lastError.c_str();
  }
  return "hipErrorUnknown";
}

} // extern "C"
