//===- CpuLoader.cpp - dlopen a CPU kernel and run its work items --------===//
//
// CPU ABI: `void entry(desc_0*, ..., desc_{n-1}*, int64_t wi_begin,
// int64_t wi_end)`, MLIR's `_mlir_ciface_` convention: every tensor is a
// ranked memref descriptor passed by pointer; the kernel computes work items
// [wi_begin, wi_end). All arguments are pointer-sized integers, so the call
// dispatches on arity alone.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <sys/stat.h>
#include <system_error>
#include <thread>
#include <unistd.h>
#include <utility>

namespace attn_rt {
namespace {

constexpr size_t kMaxArgs = 24;

template <size_t I> using Word = intptr_t;

template <size_t... I> void callWith(void *fn, const intptr_t *a, std::index_sequence<I...>) {
  using Fn = void (*)(Word<I>...);
  reinterpret_cast<Fn>(fn)(a[I]...);
}

void call(void *fn, const intptr_t *a, size_t n) {
  switch (n) {
#define ATTN_CASE(N)                                                                               \
  case N:                                                                                          \
    callWith(fn, a, std::make_index_sequence<N>());                                                \
    break;
    ATTN_CASE(2) ATTN_CASE(3) ATTN_CASE(4) ATTN_CASE(5) ATTN_CASE(6) ATTN_CASE(7) ATTN_CASE(8)
    ATTN_CASE(9) ATTN_CASE(10) ATTN_CASE(11) ATTN_CASE(12) ATTN_CASE(13) ATTN_CASE(14)
    ATTN_CASE(15) ATTN_CASE(16) ATTN_CASE(17) ATTN_CASE(18) ATTN_CASE(19) ATTN_CASE(20)
    ATTN_CASE(21) ATTN_CASE(22) ATTN_CASE(23) ATTN_CASE(24)
#undef ATTN_CASE
  default:
    break; // checked by the caller
  }
}

unsigned threadCount(int64_t workItems) {
  unsigned n = 0;
  if (const char *s = std::getenv("ATTN_NUM_THREADS")) {
    char *end = nullptr;
    long v = std::strtol(s, &end, 10);
    if (end != s && v > 0)
      n = static_cast<unsigned>(v > 4096 ? 4096 : v);
  }
  if (!n)
    n = std::thread::hardware_concurrency();
  if (!n)
    n = 1;
  if (static_cast<int64_t>(n) > workItems)
    n = static_cast<unsigned>(workItems);
  return n;
}

/// dlopen the kernel's .so (writing it to a temp file first when it came
/// from memory) and resolve the entry. Call with k.mu held.
attn_status loadSo(KernelInfo &k) {
  if (k.cpuEntry)
    return ATTN_OK;
  std::string path = k.path;
  std::string tmp;
  if (k.fromMemory) {
    const char *dir = std::getenv("TMPDIR");
    std::string templ = std::string(dir && *dir ? dir : "/tmp") + "/attn-" + k.file + "-XXXXXX";
    std::vector<char> buf(templ.begin(), templ.end());
    buf.push_back('\0');
    int fd = mkstemp(buf.data());
    if (fd < 0)
      return fail(ATTN_ERR_IO, "cannot create a temp file " + templ + ": " + std::strerror(errno));
    tmp = buf.data();
    size_t done = 0;
    while (done < k.bytes.size()) {
      ssize_t w = ::write(fd, k.bytes.data() + done, k.bytes.size() - done);
      if (w < 0 && errno == EINTR)
        continue;
      if (w <= 0) {
        std::string why = std::strerror(errno);
        ::close(fd);
        ::unlink(tmp.c_str());
        return fail(ATTN_ERR_IO, "cannot write " + tmp + ": " + why);
      }
      done += static_cast<size_t>(w);
    }
    ::close(fd);
    path = tmp;
  } else {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0)
      return fail(ATTN_ERR_IO, "cannot read " + path + ": " + std::strerror(errno));
    if (k.size >= 0 && st.st_size != k.size)
      return fail(ATTN_ERR_FORMAT, path + " has " + std::to_string(st.st_size) +
                                       " bytes; the manifest says " + std::to_string(k.size) +
                                       " (stale or truncated file?)");
  }
  dlerror();
  void *h = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!tmp.empty())
    ::unlink(tmp.c_str()); // the mapping stays valid
  if (!h) {
    const char *e = dlerror();
    return fail(ATTN_ERR_LAUNCH, "dlopen " + k.file + ": " + (e ? e : "failed"));
  }
  void *fn = dlsym(h, k.entry.c_str());
  if (!fn) {
    dlclose(h);
    return fail(ATTN_ERR_LAUNCH, "kernel entry " + k.entry + " not found in " + k.file);
  }
  k.dl = h;
  k.cpuEntry = fn;
  return ATTN_OK;
}

} // namespace

attn_status cpuLaunch(KernelInfo &k, std::vector<std::vector<int64_t>> &descs, int64_t workItems) {
  size_t arity = descs.size() + 2;
  if (arity > kMaxArgs)
    return fail(ATTN_ERR_INVALID, "CPU kernels take at most " + std::to_string(kMaxArgs - 2) +
                                      " tensors, this one has " + std::to_string(descs.size()));
  void *fn;
  {
    std::lock_guard<std::mutex> lock(k.mu);
    attn_status s = loadSo(k);
    if (s != ATTN_OK)
      return s;
    fn = k.cpuEntry;
  }
  unsigned n = threadCount(workItems);
  int64_t per = workItems / n + (workItems % n != 0);
  // One argument vector per chunk: descriptors by pointer, then the range.
  std::vector<std::vector<intptr_t>> argv;
  for (unsigned t = 0; t < n; ++t) {
    int64_t begin = int64_t(t) * per, end = std::min(workItems, begin + per);
    if (begin >= end)
      break;
    std::vector<intptr_t> a;
    for (auto &d : descs)
      a.push_back(reinterpret_cast<intptr_t>(d.data()));
    a.push_back(static_cast<intptr_t>(begin));
    a.push_back(static_cast<intptr_t>(end));
    argv.push_back(std::move(a));
  }
  std::vector<std::thread> pool;
  for (size_t t = 1; t < argv.size(); ++t) {
    try {
      pool.emplace_back([&, t] { call(fn, argv[t].data(), arity); });
    } catch (const std::system_error &) {
      call(fn, argv[t].data(), arity); // no more threads: run it here
    }
  }
  call(fn, argv[0].data(), arity);
  for (std::thread &th : pool)
    th.join();
  return ATTN_OK;
}

void cpuUnload(KernelInfo &k) {
  std::lock_guard<std::mutex> lock(k.mu);
  if (k.dl)
    dlclose(k.dl);
  k.dl = nullptr;
  k.cpuEntry = nullptr;
}

} // namespace attn_rt
