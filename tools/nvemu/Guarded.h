//===- Guarded.h - guarded host buffers for emulated kernels ---*- C++ -*-===//
//
// "Device memory" of the emulating drivers, and attention-run's tensors
// and CPU workspace, is host memory. The kernels do not bounds-check their
// global accesses, so a kernel writing past a buffer (an output row or
// column past the tensor, a manifest workspace formula smaller than the
// kernel's layout, a share slot index off by one) would corrupt the host
// heap silently, or hang or crash much later. A guarded
// buffer ends 64 bytes or less before an inaccessible page (a far overrun
// faults at once) and starts right after one; the bytes between its end
// and the page hold a pattern that `intact()` checks after each launch.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_NVEMU_GUARDED_H
#define ATTN_NVEMU_GUARDED_H

#include <cstdint>
#include <cstdio>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <sys/mman.h>
#include <unistd.h>

namespace nvemu {

class GuardedBuffer {
public:
  GuardedBuffer() = default;
  GuardedBuffer(const GuardedBuffer &) = delete;
  GuardedBuffer &operator=(const GuardedBuffer &) = delete;
  ~GuardedBuffer() { reset(); }

  /// `bytes` of zeroed memory, 64-byte aligned; false when out of memory.
  bool allocate(size_t bytes) {
    reset();
    size_t page = static_cast<size_t>(sysconf(_SC_PAGESIZE));
    size_t used = (bytes + kAlign - 1) / kAlign * kAlign;
    size_t data = (used + page - 1) / page * page;
    if (bytes > SIZE_MAX / 2 || data == 0)
      data = page;
    void *p = mmap(nullptr, data + 2 * page, PROT_READ | PROT_WRITE,
                   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
      return false;
    auto *base = static_cast<unsigned char *>(p);
    mprotect(base, page, PROT_NONE);
    mprotect(base + page + data, page, PROT_NONE);
    map_ = base;
    mapBytes_ = data + 2 * page;
    begin_ = base + page;
    user_ = base + page + data - used;
    bytes_ = bytes;
    std::memset(begin_, kFill, user_ - begin_);
    std::memset(user_ + bytes, kFill, used - bytes);
    return true;
  }

  void *data() const { return user_; }
  size_t size() const { return bytes_; }

  /// Refills the pattern (after a caller zeroed or filled the buffer with
  /// more than its size).
  void rearm() {
    size_t used = (bytes_ + kAlign - 1) / kAlign * kAlign;
    std::memset(begin_, kFill, user_ - begin_);
    std::memset(user_ + bytes_, kFill, used - bytes_);
  }

  /// "" when the pattern around the buffer is intact, else where a kernel
  /// wrote outside of it.
  std::string intact() const {
    if (!user_)
      return "";
    size_t used = (bytes_ + kAlign - 1) / kAlign * kAlign;
    const char *where = !filled(begin_, user_ - begin_)       ? "before the start"
                        : !filled(user_ + bytes_, used - bytes_) ? "past the end"
                                                                 : nullptr;
    if (!where)
      return "";
    char msg[160];
    std::snprintf(msg, sizeof(msg),
                  "the kernel wrote %s of its %zu-byte buffer",
                  where, bytes_);
    return msg;
  }

private:
  static constexpr size_t kAlign = 64;
  static constexpr unsigned char kFill = 0xA5;

  static bool filled(const unsigned char *p, size_t n) {
    for (size_t i = 0; i < n; ++i)
      if (p[i] != kFill)
        return false;
    return true;
  }
  void reset() {
    if (map_)
      munmap(map_, mapBytes_);
    map_ = begin_ = user_ = nullptr;
    mapBytes_ = bytes_ = 0;
  }

  unsigned char *map_ = nullptr, *begin_ = nullptr, *user_ = nullptr;
  size_t mapBytes_ = 0, bytes_ = 0;
};

/// The emulating drivers' device allocations, checked after each launch.
class GuardedAllocations {
public:
  void *allocate(size_t bytes) {
    auto buffer = std::make_unique<GuardedBuffer>();
    if (!buffer->allocate(bytes))
      return nullptr;
    void *p = buffer->data();
    live_[p] = std::move(buffer);
    return p;
  }
  /// Frees an allocation of `allocate`; false for any other pointer.
  bool release(void *p) { return live_.erase(p) == 1; }
  /// "" or the first allocation a kernel wrote outside of.
  std::string check() const {
    for (const auto &[p, buffer] : live_)
      if (std::string e = buffer->intact(); !e.empty())
        return e;
    return "";
  }

private:
  std::map<void *, std::unique_ptr<GuardedBuffer>> live_;
};

} // namespace nvemu

#endif // ATTN_NVEMU_GUARDED_H
