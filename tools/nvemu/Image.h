//===- Image.h - finding a GPU binary's emulation --------------*- C++ -*-===//
//
// The emulating drivers (CUDA: Driver.cpp, HIP: HipDriver.cpp) get a GPU
// binary where a real driver would load it; its emulation is the shared
// object DIR/<nvemu_image_hash of the binary>.so that
// `--attn-compile="... emulation=1"` writes into the bundle's nvemu/ folder,
// DIR being ATTN_NVEMU_DIR.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_NVEMU_IMAGE_H
#define ATTN_NVEMU_IMAGE_H

#include "nvemu.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <elf.h>
#include <string>

namespace nvemu {

/// Bytes of an ELF64 image (cubin, HSACO): up to the end of the last
/// header or section.
inline size_t elfSize(const uint8_t *p) {
  Elf64_Ehdr eh;
  std::memcpy(&eh, p, sizeof(eh));
  size_t end = std::max<size_t>(eh.e_shoff + size_t(eh.e_shnum) * eh.e_shentsize,
                                eh.e_phoff + size_t(eh.e_phnum) * eh.e_phentsize);
  for (unsigned i = 0; i < eh.e_shnum; ++i) {
    Elf64_Shdr sh;
    std::memcpy(&sh, p + eh.e_shoff + size_t(i) * eh.e_shentsize, sizeof(sh));
    if (sh.sh_type != SHT_NOBITS)
      end = std::max<size_t>(end, sh.sh_offset + sh.sh_size);
  }
  return end;
}

inline bool isElf(const void *image) {
  return std::memcmp(image, ELFMAG, SELFMAG) == 0;
}

/// dlopen of the emulation of `image` (ELF, or NUL-terminated text such as
/// PTX); null with `error` set when there is none.
inline void *openEmulation(const void *image, std::string &error) {
  auto *p = static_cast<const uint8_t *>(image);
  size_t n = isElf(image) ? elfSize(p) : std::strlen(static_cast<const char *>(image));
  char name[32];
  std::snprintf(name, sizeof(name), "%016llx.so",
                static_cast<unsigned long long>(nvemu_image_hash(p, n)));
  const char *dir = std::getenv("ATTN_NVEMU_DIR");
  std::string path = std::string(dir ? dir : ".") + "/" + name;
  void *lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) {
    const char *e = dlerror();
    error = "no emulation of this binary (" + path + "): " + (e ? e : "") +
            "; build the bundle with --attn-compile=\"... emulation=1\"";
  }
  return lib;
}

} // namespace nvemu

#endif // ATTN_NVEMU_IMAGE_H
