//===- Emulator.cpp - run NVVM kernels (as host code) on the CPU ----------===//
//
// The semantics here come from the PTX ISA (fragment layouts of mma.sync
// and ldmatrix, shfl.sync lane arithmetic, cp.async groups, bar.sync), not
// from the attn lowering, so a kernel that disagrees with the hardware
// computes wrong numbers here too.
//
// A CTA's threads are ucontext fibers on one OS thread: a thread runs until
// it reaches a barrier or a warp-collective operation, and the last lane or
// thread to arrive does the work and wakes the others. Deterministic, no
// locks. Checks a GPU would not report but that mean a wrong kernel:
// deadlocks, lanes at different collectives, accesses outside shared
// memory, writes past its end (a canary), reads of shared memory never
// written (it starts as NaN bytes), data of a cp.async read before its
// wait_group (copies land at the wait), cp.async or TMA copies still in
// flight when a thread or its CTA exits. CTAs run one at a time, in
// launch order or reversed (ATTN_NVEMU_REVERSE_CTAS=1). A thread that
// arrives on an mbarrier (not arming it) steps aside until the next pass,
// and the threads a completed phase woke run before it resumes: a buffer
// released before the products reading it were waited for is refilled
// under them (eager TMA), and their wait reports it.
//
//===----------------------------------------------------------------------===//

#include "nvemu.h"

#include <cmath>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <ucontext.h>
#include <vector>

namespace {

constexpr size_t kStackBytes = 512 * 1024;
constexpr size_t kCanaryBytes = 1024;
// Shared memory is allocated at this alignment so that a host address's
// low 18 bits are its offset, as wgmma descriptors (bits 4..17 of the
// shared address) and the address-based swizzles see it.
constexpr size_t kSmemAlign = size_t(1) << 18;
constexpr int kBarriers = 16;

enum class Collective { None, Mma, LdMatrix, Shfl, Mfma, Bpermute, Swizzle };

struct Thread;

/// A wgmma.mma_async as issued: operands by descriptor and the bits it
/// read there (for the check at its wait_group that shared memory did not
/// change in between), the accumulator it read and the one it produced
/// (64 x n, row-major).
struct WgmmaOp {
  int flags = 0, n = 0;
  uint64_t descA = 0, descB = 0;
  std::vector<uint16_t> a, b; // 64 x 16, 16 x n
  std::vector<float> c, d;
  bool checked = false;
};

struct TmaCopy {
  uint8_t *dst;
  nvemu_tensor_map map;
  int32_t coords[5];
  unsigned bytes;
};

struct MBarrier {
  int expected = 0, pending = 0;
  int64_t tx = 0;
  uint64_t phase = 0; // completed phases
  std::vector<TmaCopy> copies; // issued, not landed
  std::vector<Thread *> waiters;
};

struct Copy {
  uint8_t *dst;
  const uint8_t *src;
  unsigned size, srcSize;
};

struct Thread {
  ucontext_t ctx;
  // Not value-initialized: a zeroed 512 KiB per thread would be touched
  // (and cost its memory) on every launch; untouched pages stay virtual.
  std::unique_ptr<char[]> stack;
  unsigned tid[3] = {0, 0, 0};
  unsigned linear = 0, lane = 0, warp = 0;
  bool done = false, blocked = false;
  // Stepped aside after an mbarrier arrival in scheduler pass
  // `deferredIn`: runs again in a later pass, after the others.
  bool deferred = false;
  uint64_t deferredIn = 0;
  // Where it waits (for the deadlock report).
  std::string waitingAt;
  std::vector<std::vector<Copy>> groups; // committed, oldest first
  std::vector<Copy> open;
  // Inputs and outputs of the warp-collective in progress.
  int32_t in[12];
  const uint8_t *addr = nullptr;
  uint32_t out[4];
  int32_t valid = 0;
  // wgmma: this thread's accumulator registers, and its groups.
  uint64_t desc[2] = {0, 0};
  uint32_t aRegs[4] = {0, 0, 0, 0};
  const float *accIn = nullptr;
  float *accOut = nullptr;
  std::vector<std::shared_ptr<WgmmaOp>> wgOpen;
  std::deque<std::vector<std::shared_ptr<WgmmaOp>>> wgGroups;
};

struct Warp {
  unsigned size = 0, arrived = 0;
  Collective op = Collective::None;
};

struct Barrier {
  int expected = 0, arrived = 0;
  std::vector<Thread *> waiters;
};

struct Cta {
  nvemu_entry entry;
  void **params;
  unsigned grid[3], block[3], ctaid[3];
  std::vector<Thread> threads;
  std::vector<Warp> warps;
  std::vector<unsigned> warpgroupArrived;
  std::map<const void *, MBarrier> mbarriers;
  Barrier bars[kBarriers];
  uint8_t *smem = nullptr;
  size_t smemBytes = 0;
  std::string error;
  ucontext_t scheduler;
  uint64_t seed = 1;
  /// TMA loads land when issued (ATTN_NVEMU_TMA=eager) instead of when a
  /// thread first waits on their mbarrier: the early end of what a GPU may
  /// do, which shows a load into a buffer that threads still read (a
  /// missing "empty" wait), where the late end shows a read before the wait.
  bool eagerTma = false;
  /// 32 (NVIDIA warps) or 64 (AMD wave64).
  unsigned warpSize = 32;
  /// Scheduler passes so far.
  uint64_t pass = 0;
  /// Threads an mbarrier phase woke since the scheduler last looked: they
  /// run before a thread that stepped aside resumes.
  std::vector<Thread *> woken;
};

thread_local Cta *cta = nullptr;
thread_local Thread *cur = nullptr;

std::string format(const char *fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

std::string where() {
  return format("CTA (%u,%u,%u) thread %u (warp %u lane %u)", cta->ctaid[0],
                cta->ctaid[1], cta->ctaid[2], cur->linear, cur->warp, cur->lane);
}

/// Gives control back to the scheduler until another thread wakes this one.
void block(const std::string &at) {
  cur->blocked = true;
  cur->waitingAt = at;
  swapcontext(&cur->ctx, &cta->scheduler);
}

/// Stops the launch: the scheduler never resumes this thread.
[[noreturn]] void fail(const std::string &msg) {
  if (cta->error.empty())
    cta->error = where() + ": " + msg;
  for (;;)
    block("error");
}

void checkShared(const void *p, size_t bytes, const char *what) {
  auto *b = static_cast<const uint8_t *>(p);
  if (b < cta->smem || b + bytes > cta->smem + cta->smemBytes)
    fail(format("%s of %zu bytes at %p is outside the %zu bytes of dynamic "
                "shared memory at %p",
                what, bytes, p, cta->smemBytes, static_cast<void *>(cta->smem)));
}

void threadMain() {
  cta->entry(cta->params);
  // A copy no wait_group covered lands after the thread exits, in shared
  // memory the SM may already have given the next CTA.
  size_t inFlight = cur->open.size();
  for (const std::vector<Copy> &g : cur->groups)
    inFlight += g.size();
  if (inFlight)
    fail(format("exited with %zu cp.async copies in flight (no wait_group "
                "covers them)",
                inFlight));
  cur->done = true;
  // Returning resumes uc_link, the scheduler.
}

/// Arrives at a warp-collective; returns on every lane once the last lane
/// has computed the results (`compute` runs on that lane).
template <typename F> void collective(Collective op, const char *name, F compute) {
  Warp &w = cta->warps[cur->warp];
  if (w.arrived == 0)
    w.op = op;
  else if (w.op != op)
    fail(format("lanes of warp %u reached different warp-collective "
                "operations (%s and another)",
                cur->warp, name));
  if (++w.arrived < w.size) {
    block(name);
    return;
  }
  Thread *lanes = &cta->threads[cur->warp * cta->warpSize];
  compute(lanes, w.size);
  w.arrived = 0;
  w.op = Collective::None;
  for (unsigned i = 0; i < w.size; ++i)
    lanes[i].blocked = false;
}

float half(uint16_t h, bool bf16) {
  if (bf16) {
    uint32_t bits = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &bits, 4);
    return f;
  }
  // IEEE binary16: 1 sign, 5 exponent (bias 15), 10 mantissa bits.
  int exp = (h >> 10) & 0x1f, man = h & 0x3ff;
  float mag = exp == 0    ? std::ldexp(static_cast<float>(man), -24)
              : exp == 31 ? (man ? NAN : INFINITY)
                          : std::ldexp(static_cast<float>(man | 0x400), exp - 25);
  return (h & 0x8000) ? -mag : mag;
}

void completeGroup(std::vector<Copy> &group) {
  for (Copy &c : group) {
    std::memcpy(c.dst, c.src, c.srcSize);
    std::memset(c.dst + c.srcSize, 0, c.size - c.srcSize);
  }
}

uint64_t swizzle(uint64_t offset, unsigned span) {
  // Bits 4.. of the address (16-byte chunk in a row of `span` bytes) XOR
  // bits 7.. (the row within the pattern's 8 rows of 128 bytes).
  unsigned mask = span == 128 ? 7 : span == 64 ? 3 : span == 32 ? 1 : 0;
  return offset ^ (((offset >> 7) & mask) << 4);
}

void landCopy(const TmaCopy &c) {
  const nvemu_tensor_map &m = c.map;
  size_t total = 1;
  for (unsigned d = 0; d < m.rank; ++d)
    total *= m.box[d];
  size_t base = static_cast<size_t>(c.dst - cta->smem);
  for (size_t e = 0; e < total; ++e) {
    size_t rest = e;
    bool inside = true;
    uint64_t src = m.address;
    for (unsigned d = 0; d < m.rank; ++d) {
      int64_t g = static_cast<int64_t>(c.coords[d]) + static_cast<int64_t>(rest % m.box[d]);
      rest /= m.box[d];
      if (g < 0 || g >= static_cast<int64_t>(m.dims[d]))
        inside = false;
      else
        src += static_cast<uint64_t>(g) * m.strides[d];
    }
    uint8_t *dst = cta->smem + swizzle(base + e * m.element_bytes, m.swizzle_bytes);
    if (inside)
      std::memcpy(dst, reinterpret_cast<const void *>(src), m.element_bytes);
    else
      std::memset(dst, 0, m.element_bytes); // out of bounds reads as zeros
  }
}

void completePhase(MBarrier &b) {
  if (b.pending != 0 || b.tx != 0)
    return;
  ++b.phase;
  b.pending = b.expected;
  for (Thread *t : b.waiters) {
    t->blocked = false;
    cta->woken.push_back(t);
  }
  b.waiters.clear();
}

/// Lands the TMA copies issued on `b` (their complete_tx).
bool flushCopies(MBarrier &b) {
  if (b.copies.empty())
    return false;
  std::vector<TmaCopy> copies;
  copies.swap(b.copies);
  for (const TmaCopy &c : copies) {
    landCopy(c);
    b.tx -= c.bytes;
  }
  completePhase(b);
  return true;
}

bool flushAllCopies() {
  bool any = false;
  for (auto &entry : cta->mbarriers)
    any |= flushCopies(entry.second);
  return any;
}

bool runCta(Cta &c) {
  unsigned n = c.block[0] * c.block[1] * c.block[2];
  for (unsigned i = 0; i < n; ++i) {
    Thread &t = c.threads[i];
    t.tid[0] = i % c.block[0];
    t.tid[1] = (i / c.block[0]) % c.block[1];
    t.tid[2] = i / (c.block[0] * c.block[1]);
    t.linear = i;
    t.lane = i % c.warpSize;
    t.warp = i / c.warpSize;
    t.done = t.blocked = t.deferred = false;
    t.groups.clear();
    t.open.clear();
    t.wgOpen.clear();
    t.wgGroups.clear();
    getcontext(&t.ctx);
    t.ctx.uc_stack.ss_sp = t.stack.get();
    t.ctx.uc_stack.ss_size = kStackBytes;
    t.ctx.uc_link = &c.scheduler;
    makecontext(&t.ctx, threadMain, 0);
  }
  for (unsigned w = 0; w < c.warps.size(); ++w)
    c.warps[w] = Warp{std::min(c.warpSize, n - c.warpSize * w), 0,
                      Collective::None};
  for (Barrier &b : c.bars)
    b = Barrier();
  c.warpgroupArrived.assign((n + 127) / 128, 0);
  c.mbarriers.clear();
  c.woken.clear();
  // Shared memory starts as NaN bytes, with a canary past its end.
  std::memset(c.smem, 0xff, c.smemBytes);
  std::memset(c.smem + c.smemBytes, 0x5a, kCanaryBytes);
  // Threads run in a new random order on every pass (ATTN_NVEMU_SEED; 0:
  // in index order), so a kernel that orders warps by anything but its
  // barriers shows it on some pass.
  std::vector<unsigned> order(n);
  for (unsigned i = 0; i < n; ++i)
    order[i] = i;
  uint64_t rng = c.seed * 0x9e3779b97f4a7c15ull + c.ctaid[0] + 7919ull * c.ctaid[1] +
                 104729ull * c.ctaid[2];
  for (;;) {
    if (c.seed)
      for (unsigned i = n; i > 1; --i) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        std::swap(order[i - 1], order[rng % i]);
      }
    bool ran = false, all = true;
    ++c.pass;
    // Threads that stepped aside after an arrival in an earlier pass run
    // last; those of this pass wait for the next.
    for (bool late : {false, true})
      for (unsigned i : order) {
        Thread &t = c.threads[i];
        if (t.done)
          continue;
        all = false;
        if (t.blocked || t.deferred != late ||
            (t.deferred && t.deferredIn == c.pass))
          continue;
        // Threads a phase woke (a producer an arrival let refill a buffer)
        // go before a thread that stepped aside after its arrival.
        while (late && !c.woken.empty()) {
          Thread *w = c.woken.front();
          c.woken.erase(c.woken.begin());
          if (w->done || w->blocked)
            continue;
          w->deferred = false;
          cur = w;
          swapcontext(&c.scheduler, &w->ctx);
          if (!c.error.empty())
            return false;
        }
        t.deferred = false;
        cur = &t;
        swapcontext(&c.scheduler, &t.ctx);
        ran = true;
        if (!c.error.empty())
          return false;
      }
    c.woken.clear();
    if (all)
      break;
    // Every thread waits: asynchronous copies land now (they would have
    // by the time a GPU's waits are satisfied).
    if (!ran && flushAllCopies())
      continue;
    if (!ran) {
      std::string msg = format("CTA (%u,%u,%u): deadlock;", c.ctaid[0],
                               c.ctaid[1], c.ctaid[2]);
      unsigned shown = 0, done = 0;
      for (unsigned i = 0; i < n; ++i) {
        if (c.threads[i].done) {
          ++done;
          continue;
        }
        if (shown++ < 4)
          msg += format(" thread %u waits at %s;", i,
                        c.threads[i].waitingAt.c_str());
      }
      c.error = msg + format(" %u threads have exited", done);
      return false;
    }
  }
  // A TMA load whose mbarrier no thread waited for lands after the CTA.
  for (const auto &entry : c.mbarriers)
    if (!entry.second.copies.empty()) {
      c.error = format("CTA (%u,%u,%u) exited with %zu TMA copies in flight "
                       "(no thread waited for their mbarrier)",
                       c.ctaid[0], c.ctaid[1], c.ctaid[2],
                       entry.second.copies.size());
      return false;
    }
  for (size_t i = 0; i < kCanaryBytes; ++i)
    if (c.smem[c.smemBytes + i] != 0x5a) {
      c.error = format("CTA (%u,%u,%u) wrote %zu bytes past the end of its "
                       "%zu bytes of dynamic shared memory",
                       c.ctaid[0], c.ctaid[1], c.ctaid[2], i, c.smemBytes);
      return false;
    }
  return true;
}

} // namespace

namespace {

int launch(nvemu_entry entry, void **params, const unsigned grid[3],
           const unsigned block[3], unsigned dynamicSmem, unsigned warpSize,
           char *err, size_t errLen) {
  auto report = [&](const std::string &msg) {
    if (err && errLen)
      snprintf(err, errLen, "%s", msg.c_str());
    return 1;
  };
  unsigned n = block[0] * block[1] * block[2];
  if (n == 0 || n > 1024 || grid[0] * grid[1] * grid[2] == 0)
    return report("empty grid or more than 1024 threads per block");
  auto c = std::make_unique<Cta>();
  c->entry = entry;
  c->params = params;
  if (const char *s = std::getenv("ATTN_NVEMU_SEED"))
    c->seed = std::strtoull(s, nullptr, 10);
  if (const char *s = std::getenv("ATTN_NVEMU_TMA"))
    c->eagerTma = std::string(s) == "eager";
  std::memcpy(c->grid, grid, sizeof(c->grid));
  std::memcpy(c->block, block, sizeof(c->block));
  c->threads.resize(n);
  for (Thread &t : c->threads)
    t.stack.reset(new char[kStackBytes]);
  c->warpSize = warpSize;
  c->warps.resize((n + warpSize - 1) / warpSize);
  c->smemBytes = dynamicSmem;
  size_t bytes = (dynamicSmem + kCanaryBytes + kSmemAlign - 1) / kSmemAlign * kSmemAlign;
  std::unique_ptr<uint8_t, decltype(&std::free)> smem(
      static_cast<uint8_t *>(std::aligned_alloc(kSmemAlign, bytes)), &std::free);
  c->smem = smem.get();
  Cta *saved = cta;
  Thread *savedThread = cur;
  cta = c.get();
  bool ok = true;
  // CTAs run one after another, in launch order or (ATTN_NVEMU_REVERSE_CTAS
  // set) the reverse: a GPU promises no order, so a kernel whose CTAs wait
  // for one another must not depend on it (the reverse order hangs one
  // that waits for a lower CTA index).
  const char *rev = std::getenv("ATTN_NVEMU_REVERSE_CTAS");
  bool reverse = rev && *rev && std::strcmp(rev, "0") != 0;
  size_t ctas = size_t(grid[0]) * grid[1] * grid[2];
  for (size_t i = 0; ok && i < ctas; ++i) {
    size_t linear = reverse ? ctas - 1 - i : i;
    c->ctaid[0] = linear % grid[0];
    c->ctaid[1] = linear / grid[0] % grid[1];
    c->ctaid[2] = linear / grid[0] / grid[1];
    ok = runCta(*c);
  }
  cta = saved;
  cur = savedThread;
  return ok ? 0 : report(c->error);
}

} // namespace

extern "C" {

int nvemu_launch(nvemu_entry entry, void **params, const unsigned grid[3],
                 const unsigned block[3], unsigned dynamicSmem, char *err,
                 size_t errLen) {
  return launch(entry, params, grid, block, dynamicSmem, 32, err, errLen);
}

int amdemu_launch(nvemu_entry entry, void **params, const unsigned grid[3],
                  const unsigned block[3], unsigned lds, char *err,
                  size_t errLen) {
  return launch(entry, params, grid, block, lds, 64, err, errLen);
}

int32_t __nvemu_sreg(int32_t code) {
  switch (code) {
  case NVEMU_TID_X: case NVEMU_TID_Y: case NVEMU_TID_Z:
    return cur->tid[code - NVEMU_TID_X];
  case NVEMU_NTID_X: case NVEMU_NTID_Y: case NVEMU_NTID_Z:
    return cta->block[code - NVEMU_NTID_X];
  case NVEMU_CTAID_X: case NVEMU_CTAID_Y: case NVEMU_CTAID_Z:
    return cta->ctaid[code - NVEMU_CTAID_X];
  case NVEMU_NCTAID_X: case NVEMU_NCTAID_Y: case NVEMU_NCTAID_Z:
    return cta->grid[code - NVEMU_NCTAID_X];
  case NVEMU_LANEID:
    return cur->lane;
  case NVEMU_WARPID:
    return cur->warp;
  case NVEMU_WARPSIZE:
    return static_cast<int32_t>(cta->warpSize);
  }
  fail(format("unknown special register code %d", code));
}

void *__nvemu_dynamic_smem(void) { return cta->smem; }

} // extern "C"

namespace {

/// Joins barrier `id` for its current phase; true when this arrival
/// completes it (the caller then releases the waiters).
Barrier &joinBarrier(int32_t id, int32_t count) {
  if (id < 0 || id >= kBarriers)
    fail(format("barrier id %d outside 0..%d", id, kBarriers - 1));
  int expected = count < 0 ? static_cast<int>(cta->threads.size()) : count;
  if (expected % 32 != 0 || expected > static_cast<int>(cta->threads.size()))
    fail(format("bar.sync %d, %d: the count must be a multiple of 32 and at "
                "most the block's %zu threads",
                id, count, cta->threads.size()));
  Barrier &b = cta->bars[id];
  if (b.arrived == 0)
    b.expected = expected;
  else if (b.expected != expected)
    fail(format("bar.sync %d with %d threads while the barrier expects %d", id,
                expected, b.expected));
  ++b.arrived;
  return b;
}

void releaseBarrier(Barrier &b) {
  for (Thread *t : b.waiters) {
    t->blocked = false;
    cta->woken.push_back(t);
  }
  b.waiters.clear();
  b.arrived = 0;
}

} // namespace

extern "C" {

void __nvemu_barrier(int32_t id, int32_t count) {
  Barrier &b = joinBarrier(id, count);
  if (b.arrived < b.expected) {
    b.waiters.push_back(cur);
    block(format("bar.sync %d", id));
    return;
  }
  releaseBarrier(b);
}

void __nvemu_barrier_arrive(int32_t id, int32_t count) {
  Barrier &b = joinBarrier(id, count);
  if (b.arrived == b.expected)
    releaseBarrier(b);
}

int32_t __nvemu_shfl(int32_t mode, int32_t memberMask, int32_t value,
                     int32_t laneOrOffset, int32_t clamp, int32_t *valid) {
  if (static_cast<uint32_t>(memberMask) != 0xffffffffu ||
      cta->warps[cur->warp].size != 32)
    fail(format("shfl.sync with member mask 0x%x: nvemu emulates full warps",
                memberMask));
  cur->in[0] = mode;
  cur->in[1] = value;
  cur->in[2] = laneOrOffset;
  cur->in[3] = clamp;
  collective(Collective::Shfl, "shfl.sync", [](Thread *lanes, unsigned) {
    for (unsigned l = 0; l < 32; ++l) {
      Thread &t = lanes[l];
      if (t.in[0] != lanes[0].in[0])
        fail("lanes of a warp ran shfl.sync in different modes");
      int b = t.in[2], c = t.in[3];
      int segmask = (c >> 8) & 0x1f, maxLane = (l & segmask) | (c & 0x1f & ~segmask);
      int minLane = l & segmask, j = 0;
      bool p = false;
      switch (t.in[0]) {
      case NVEMU_SHFL_UP: j = l - b; p = j >= maxLane; break;
      case NVEMU_SHFL_DOWN: j = l + b; p = j <= maxLane; break;
      case NVEMU_SHFL_BFLY: j = l ^ b; p = j <= maxLane; break;
      case NVEMU_SHFL_IDX: j = minLane | (b & ~segmask); p = j <= maxLane; break;
      default: fail(format("unknown shfl mode %d", t.in[0]));
      }
      if (!p)
        j = l;
      t.out[0] = static_cast<uint32_t>(lanes[j].in[1]);
      t.valid = p;
    }
  });
  *valid = cur->valid;
  return static_cast<int32_t>(cur->out[0]);
}

void __nvemu_ldmatrix(const void *rowAddress, int32_t num, int32_t trans,
                      int32_t *out) {
  if (cta->warps[cur->warp].size != 32)
    fail("ldmatrix in a partial warp");
  cur->in[0] = num;
  cur->in[1] = trans;
  cur->addr = static_cast<const uint8_t *>(rowAddress);
  collective(Collective::LdMatrix, "ldmatrix", [](Thread *lanes, unsigned) {
    int n = lanes[0].in[0];
    bool tr = lanes[0].in[1];
    for (unsigned l = 0; l < 32; ++l)
      if (lanes[l].in[0] != n || lanes[l].in[1] != lanes[0].in[1])
        fail("lanes of a warp ran different ldmatrix shapes");
    // Lanes 8i .. 8i+7 give the row addresses of matrix i.
    for (int i = 0; i < n; ++i)
      for (int r = 0; r < 8; ++r) {
        const uint8_t *row = lanes[8 * i + r].addr;
        if (reinterpret_cast<uintptr_t>(row) % 16)
          fail(format("ldmatrix row address %p (lane %d) is not 16-byte "
                      "aligned", static_cast<const void *>(row), 8 * i + r));
        checkShared(row, 16, "ldmatrix row");
      }
    for (unsigned l = 0; l < 32; ++l)
      for (int i = 0; i < n; ++i) {
        unsigned r = l / 4, c = 2 * (l % 4);
        uint16_t lo, hi;
        if (!tr) {
          std::memcpy(&lo, lanes[8 * i + r].addr + 2 * c, 2);
          std::memcpy(&hi, lanes[8 * i + r].addr + 2 * (c + 1), 2);
        } else {
          // Lane l gets column r of rows c and c+1.
          std::memcpy(&lo, lanes[8 * i + c].addr + 2 * r, 2);
          std::memcpy(&hi, lanes[8 * i + c + 1].addr + 2 * r, 2);
        }
        lanes[l].out[i] = lo | static_cast<uint32_t>(hi) << 16;
      }
  });
  for (int i = 0; i < num; ++i)
    out[i] = static_cast<int32_t>(cur->out[i]);
}

void __nvemu_mma_m16n8k16(int32_t bf16, float *d, int32_t a0, int32_t a1,
                          int32_t a2, int32_t a3, int32_t b0, int32_t b1,
                          float c0, float c1, float c2, float c3) {
  if (cta->warps[cur->warp].size != 32)
    fail("mma.sync in a partial warp");
  int32_t regs[7] = {bf16, a0, a1, a2, a3, b0, b1};
  std::memcpy(cur->in, regs, sizeof(regs));
  float cs[4] = {c0, c1, c2, c3};
  std::memcpy(&cur->in[7], cs, sizeof(cs));
  collective(Collective::Mma, "mma.sync", [](Thread *lanes, unsigned) {
    bool isBf16 = lanes[0].in[0];
    double A[16][16], B[16][8], C[16][8];
    auto lo = [](int32_t r) { return static_cast<uint16_t>(r & 0xffff); };
    auto hi = [](int32_t r) { return static_cast<uint16_t>(static_cast<uint32_t>(r) >> 16); };
    for (unsigned l = 0; l < 32; ++l) {
      const int32_t *in = lanes[l].in;
      if (in[0] != lanes[0].in[0])
        fail("lanes of a warp ran mma.sync on different types");
      unsigned g = l / 4, t = l % 4;
      // A: {a0,a1} row g, {a2,a3} row g+8, {a4..a7} the same 8 columns on.
      for (int reg = 0; reg < 4; ++reg) {
        unsigned row = g + (reg % 2) * 8, col = 2 * t + (reg / 2) * 8;
        A[row][col] = half(lo(in[1 + reg]), isBf16);
        A[row][col + 1] = half(hi(in[1 + reg]), isBf16);
      }
      // B: {b0,b1} rows 2t, 2t+1 of column g; {b2,b3} 8 rows on.
      for (int reg = 0; reg < 2; ++reg) {
        unsigned row = 2 * t + reg * 8;
        B[row][g] = half(lo(in[5 + reg]), isBf16);
        B[row + 1][g] = half(hi(in[5 + reg]), isBf16);
      }
      float cv[4];
      std::memcpy(cv, &in[7], sizeof(cv));
      C[g][2 * t] = cv[0];
      C[g][2 * t + 1] = cv[1];
      C[g + 8][2 * t] = cv[2];
      C[g + 8][2 * t + 1] = cv[3];
    }
    for (unsigned l = 0; l < 32; ++l) {
      unsigned g = l / 4, t = l % 4;
      unsigned rows[4] = {g, g, g + 8, g + 8}, cols[4] = {2 * t, 2 * t + 1, 2 * t, 2 * t + 1};
      for (int e = 0; e < 4; ++e) {
        double acc = C[rows[e]][cols[e]];
        for (int k = 0; k < 16; ++k)
          acc += A[rows[e]][k] * B[k][cols[e]];
        float f = static_cast<float>(acc);
        std::memcpy(&lanes[l].out[e], &f, 4);
      }
    }
  });
  std::memcpy(d, cur->out, 16);
}

void __nvemu_cp_async(void *dst, const void *src, int32_t size, int32_t srcSize) {
  if (!(size == 4 || size == 8 || size == 16) || srcSize < 0 || srcSize > size)
    fail(format("cp.async of %d bytes with source size %d", size, srcSize));
  if (reinterpret_cast<uintptr_t>(dst) % size || reinterpret_cast<uintptr_t>(src) % size)
    fail(format("cp.async of %d bytes: %p <- %p is not aligned to the size", size,
                dst, src));
  checkShared(dst, size, "cp.async destination");
  cur->open.push_back({static_cast<uint8_t *>(dst),
                       static_cast<const uint8_t *>(src),
                       static_cast<unsigned>(size), static_cast<unsigned>(srcSize)});
}

void __nvemu_cp_async_commit(void) {
  cur->groups.push_back(std::move(cur->open));
  cur->open.clear();
}

void __nvemu_cp_async_wait(int32_t n) {
  auto &g = cur->groups;
  while (g.size() > static_cast<size_t>(n < 0 ? 0 : n)) {
    completeGroup(g.front());
    g.erase(g.begin());
  }
}

} // extern "C"

namespace {

/// The shared memory address of element (row r of M or N, column k) of a
/// wgmma operand, from its descriptor (PTX ISA "Matrix Descriptor"; the
/// canonical layouts in units of 16-byte rows of 8 elements: K-major
/// without swizzle has 8 x 16-byte core matrices, LBO apart along K and
/// SBO apart along M/N; K-major swizzled has rows of the swizzle span,
/// SBO between 8-row groups; MN-major without swizzle has core matrices
/// of 8 K-rows, SBO apart along M/N and LBO along K; MN-major swizzled has
/// K-rows of the span, LBO between span-wide column blocks and SBO between
/// 8-row K groups).
const uint8_t *operandAddress(uint64_t desc, bool mnMajor, unsigned r, unsigned k) {
  uint64_t start = (desc & 0x3fff) << 4, lbo = ((desc >> 16) & 0x3fff) << 4,
           sbo = ((desc >> 32) & 0x3fff) << 4;
  unsigned mode = static_cast<unsigned>(desc >> 62);
  if ((desc >> 49) & 7)
    fail("wgmma descriptor with a matrix base offset: not emulated");
  unsigned span = mode == 1 ? 128 : mode == 2 ? 64 : mode == 3 ? 32 : 0;
  uint64_t off;
  if (!mnMajor)
    off = span ? start + (r % 8) * span + (r / 8) * sbo + k * 2
               : start + (r % 8) * 16 + (r / 8) * sbo + (k % 8) * 2 + (k / 8) * lbo;
  else if (!span)
    off = start + (r % 8) * 2 + (r / 8) * sbo + (k % 8) * 16 + (k / 8) * lbo;
  else
    off = start + (r % (span / 2)) * 2 + (r / (span / 2)) * lbo + (k % 8) * span +
          (k / 8) * sbo;
  off = swizzle(off, span);
  if (off + 2 > cta->smemBytes)
    fail(format("wgmma operand element (%u, %u) at shared offset %llu is outside "
                "the %zu bytes of dynamic shared memory (descriptor 0x%016llx)",
                r, k, static_cast<unsigned long long>(off), cta->smemBytes,
                static_cast<unsigned long long>(desc)));
  return cta->smem + off;
}

/// The operand bits the descriptors of `op` address now.
void readOperands(const WgmmaOp &op, std::vector<uint16_t> &a, std::vector<uint16_t> &b) {
  b.resize(16 * op.n);
  // A in registers was gathered at the issue; only shared memory is read.
  if (!(op.flags & NVEMU_WGMMA_A_REGS)) {
    a.resize(64 * 16);
    for (unsigned m = 0; m < 64; ++m)
      for (unsigned k = 0; k < 16; ++k)
        std::memcpy(&a[m * 16 + k],
                    operandAddress(op.descA, op.flags & NVEMU_WGMMA_TRANS_A, m, k),
                    2);
  }
  for (unsigned k = 0; k < 16; ++k)
    for (int n = 0; n < op.n; ++n)
      std::memcpy(&b[k * op.n + n],
                  operandAddress(op.descB, op.flags & NVEMU_WGMMA_TRANS_B, n, k), 2);
}

void computeWgmma(const WgmmaOp &op, std::vector<float> &d) {
  bool bf16 = op.flags & NVEMU_WGMMA_BF16;
  double sa = op.flags & NVEMU_WGMMA_NEG_A ? -1 : 1, sb = op.flags & NVEMU_WGMMA_NEG_B ? -1 : 1;
  double A[64][16];
  std::vector<double> B(16 * op.n);
  for (unsigned i = 0; i < 64 * 16; ++i)
    A[i / 16][i % 16] = sa * half(op.a[i], bf16);
  for (size_t i = 0; i < B.size(); ++i)
    B[i] = sb * half(op.b[i], bf16);
  d.assign(64 * op.n, 0);
  for (unsigned m = 0; m < 64; ++m)
    for (int n = 0; n < op.n; ++n) {
      double acc = op.flags & NVEMU_WGMMA_SCALE_D ? op.c[m * op.n + n] : 0.0;
      for (unsigned k = 0; k < 16; ++k)
        acc += A[m][k] * B[k * op.n + n];
      d[m * op.n + n] = static_cast<float>(acc);
    }
}

/// Row and column of accumulator register i of warpgroup thread t
/// (m64nN f32 D fragment: each warp owns 16 rows, laid out per n8 block as
/// mma.sync's C).
void accumulatorPosition(unsigned t, unsigned i, unsigned &row, unsigned &col) {
  unsigned w = t / 32, l = t % 32;
  row = 16 * w + l / 4 + 8 * ((i >> 1) & 1);
  col = 8 * (i >> 2) + 2 * (l % 4) + (i & 1);
}

/// Row and column of 16-bit element e (0..7; register e / 2, low half
/// first) of warpgroup thread t's m64k16 A fragment (PTX ISA, wgmma
/// "Register Fragments", matrix A: each warp owns 16 rows, laid out as
/// mma.sync m16n8k16's A).
void registerAPosition(unsigned t, unsigned e, unsigned &row, unsigned &col) {
  unsigned w = t / 32, l = t % 32;
  row = 16 * w + l / 4 + 8 * ((e >> 1) & 1);
  col = 8 * (e >> 2) + 2 * (l % 4) + (e & 1);
}

MBarrier &mbarrierAt(const void *p, const char *what) {
  checkShared(p, 8, what);
  if (reinterpret_cast<uintptr_t>(p) % 8)
    fail(format("%s: mbarrier at %p is not 8-byte aligned", what, p));
  auto it = cta->mbarriers.find(p);
  if (it == cta->mbarriers.end())
    fail(format("%s: no mbarrier.init at shared offset %zu", what,
                static_cast<size_t>(static_cast<const uint8_t *>(p) - cta->smem)));
  return it->second;
}

} // namespace

namespace {

/// One thread's part of a wgmma.mma_async; the last of the warpgroup to
/// arrive gathers the operands and computes for all.
void issueWgmma(int32_t flags, int32_t n, uint64_t descA, uint64_t descB,
                const uint32_t *aRegs, const float *in, float *out) {
  unsigned g = cur->warp / 4;
  if (cta->threads.size() < 128 * (g + 1))
    fail("wgmma.mma_async outside a full warpgroup");
  cur->in[0] = flags;
  cur->in[1] = n;
  cur->desc[0] = descA;
  cur->desc[1] = descB;
  cur->accIn = in;
  cur->accOut = out;
  if (aRegs)
    std::memcpy(cur->aRegs, aRegs, sizeof(cur->aRegs));
  if (++cta->warpgroupArrived[g] < 128) {
    block("wgmma.mma_async");
    return;
  }
  cta->warpgroupArrived[g] = 0;
  Thread *ts = &cta->threads[128 * g];
  auto op = std::make_shared<WgmmaOp>();
  op->flags = flags;
  op->n = n;
  op->descA = descA;
  op->descB = descB;
  op->c.assign(64 * n, 0);
  for (unsigned t = 0; t < 128; ++t) {
    if (ts[t].in[0] != flags || ts[t].in[1] != n || ts[t].desc[0] != descA ||
        ts[t].desc[1] != descB)
      fail(format("threads of warpgroup %u issued different wgmma.mma_async "
                  "(thread %u: descriptors 0x%llx 0x%llx)",
                  g, t, static_cast<unsigned long long>(ts[t].desc[0]),
                  static_cast<unsigned long long>(ts[t].desc[1])));
    for (int i = 0; i < n / 2; ++i) {
      unsigned row, col;
      accumulatorPosition(t, i, row, col);
      op->c[row * n + col] = ts[t].accIn[i];
    }
  }
  if (flags & NVEMU_WGMMA_A_REGS) {
    op->a.assign(64 * 16, 0);
    for (unsigned t = 0; t < 128; ++t)
      for (unsigned e = 0; e < 8; ++e) {
        unsigned row, col;
        registerAPosition(t, e, row, col);
        op->a[row * 16 + col] =
            static_cast<uint16_t>(ts[t].aRegs[e / 2] >> (16 * (e % 2)));
      }
  }
  readOperands(*op, op->a, op->b);
  computeWgmma(*op, op->d);
  for (unsigned t = 0; t < 128; ++t) {
    for (int i = 0; i < n / 2; ++i) {
      unsigned row, col;
      accumulatorPosition(t, i, row, col);
      ts[t].accOut[i] = op->d[row * n + col];
    }
    ts[t].wgOpen.push_back(op);
    ts[t].blocked = false;
  }
}

} // namespace

extern "C" {

void __nvemu_wgmma(int32_t flags, int32_t n, uint64_t descA, uint64_t descB,
                   const float *in, float *out) {
  if (flags & NVEMU_WGMMA_A_REGS)
    fail("__nvemu_wgmma with A in registers: use __nvemu_wgmma_rs");
  issueWgmma(flags, n, descA, descB, nullptr, in, out);
}

void __nvemu_wgmma_rs(int32_t flags, int32_t n, const uint32_t *a,
                      uint64_t descB, const float *in, float *out) {
  // imm-trans-a and a descriptor for A do not exist in this form.
  if (flags & NVEMU_WGMMA_TRANS_A)
    fail("wgmma.mma_async with A in registers cannot transpose A");
  issueWgmma(flags | NVEMU_WGMMA_A_REGS, n, 0, descB, a, in, out);
}

void __nvemu_wgmma_commit(void) {
  cur->wgGroups.push_back(std::move(cur->wgOpen));
  cur->wgOpen.clear();
}

void __nvemu_wgmma_wait(int32_t n) {
  while (cur->wgGroups.size() > static_cast<size_t>(n < 0 ? 0 : n)) {
    for (const std::shared_ptr<WgmmaOp> &op : cur->wgGroups.front()) {
      if (op->checked)
        continue;
      // The product read shared memory while in flight: it must still hold
      // what it held at the issue.
      std::vector<uint16_t> a, b;
      readOperands(*op, a, b);
      bool aChanged = !(op->flags & NVEMU_WGMMA_A_REGS) && a != op->a;
      if (aChanged || b != op->b)
        fail("shared memory read by a wgmma.mma_async changed before its "
             "wgmma.wait_group (an operand was overwritten while in flight)");
      op->checked = true;
    }
    cur->wgGroups.pop_front();
  }
}

void __nvemu_mbarrier_init(void *bar, int32_t count) {
  checkShared(bar, 8, "mbarrier.init");
  if (count < 1 || count >= (1 << 20))
    fail(format("mbarrier.init with count %d", count));
  MBarrier &b = cta->mbarriers[bar];
  b = MBarrier();
  b.expected = b.pending = count;
}

void __nvemu_mbarrier_arrive(void *bar, int32_t count, int32_t expectTx) {
  MBarrier &b = mbarrierAt(bar, "mbarrier.arrive");
  b.tx += expectTx;
  b.pending -= count;
  if (b.pending < 0)
    fail(format("mbarrier.arrive: more arrivals than the count %d of its phase",
                b.expected));
  completePhase(b);
  // An arrival may free a buffer: the thread steps aside until the others
  // ran, a producer it woke refilling the buffer among them. A buffer freed
  // while a product still reads it then changes under the product (with
  // ATTN_NVEMU_TMA=eager, where the refill lands when issued), which the
  // product's wait_group reports.
  if (expectTx != 0)
    return; // arming for a copy this thread issues next
  cur->deferred = true;
  cur->deferredIn = cta->pass;
  swapcontext(&cur->ctx, &cta->scheduler);
}

void __nvemu_mbarrier_wait_parity(void *bar, int32_t parity) {
  for (;;) {
    MBarrier &b = mbarrierAt(bar, "mbarrier.try_wait.parity");
    flushCopies(b);
    // The phase of this parity has completed once the current phase's
    // parity differs.
    if ((b.phase & 1) != static_cast<uint64_t>(parity & 1))
      return;
    b.waiters.push_back(cur);
    block(format("mbarrier.try_wait.parity %d at shared offset %zu", parity & 1,
                 static_cast<size_t>(static_cast<uint8_t *>(bar) - cta->smem)));
  }
}

void __nvemu_tma_load(void *dst, const void *tensorMap, void *bar, int32_t rank,
                      int32_t c0, int32_t c1, int32_t c2, int32_t c3, int32_t c4) {
  TmaCopy c;
  std::memcpy(&c.map, tensorMap, sizeof(c.map));
  const nvemu_tensor_map &m = c.map;
  if (m.magic != NVEMU_TENSOR_MAP_MAGIC)
    fail("cp.async.bulk.tensor: the tensor map was not encoded by the nvemu "
         "driver's cuTensorMapEncodeTiled");
  if (static_cast<uint32_t>(rank) != m.rank)
    fail(format("cp.async.bulk.tensor.%dd on a tensor map of rank %u", rank, m.rank));
  c.dst = static_cast<uint8_t *>(dst);
  int32_t coords[5] = {c0, c1, c2, c3, c4};
  std::memcpy(c.coords, coords, sizeof(coords));
  size_t bytes = m.element_bytes;
  for (unsigned d = 0; d < m.rank; ++d)
    bytes *= m.box[d];
  c.bytes = static_cast<unsigned>(bytes);
  if (reinterpret_cast<uintptr_t>(dst) % 128)
    fail("cp.async.bulk.tensor destination is not 128-byte aligned");
  checkShared(dst, bytes, "cp.async.bulk.tensor destination");
  MBarrier &b = mbarrierAt(bar, "cp.async.bulk.tensor");
  if (!cta->eagerTma) {
    b.copies.push_back(c);
    return;
  }
  landCopy(c);
  b.tx -= c.bytes;
  completePhase(b);
}

// libdevice functions the kernels may call (gpu-module-to-binary links
// libdevice into the PTX; here the host's libm stands in).
float __nv_expf(float x) { return std::exp(x); }
float __nv_exp2f(float x) { return std::exp2(x); }
float __nv_logf(float x) { return std::log(x); }
float __nv_log2f(float x) { return std::log2(x); }
float __nv_tanhf(float x) { return std::tanh(x); }
float __nv_fabsf(float x) { return std::fabs(x); }
float __nv_sqrtf(float x) { return std::sqrt(x); }
float __nv_rsqrtf(float x) { return 1.0f / std::sqrt(x); }
float __nv_powf(float x, float y) { return std::pow(x, y); }
float __nv_fmaxf(float x, float y) { return std::fmax(x, y); }
float __nv_fminf(float x, float y) { return std::fmin(x, y); }
float __nv_fmaf(float x, float y, float z) { return std::fma(x, y, z); }
float __nv_log1pf(float x) { return std::log1p(x); }
float __nv_expm1f(float x) { return std::expm1(x); }
// The rest of what convert-gpu-to-nvvm calls for a region's f32 math ops.
float __nv_log10f(float x) { return std::log10(x); }
float __nv_sinf(float x) { return std::sin(x); }
float __nv_cosf(float x) { return std::cos(x); }
float __nv_tanf(float x) { return std::tan(x); }
float __nv_asinf(float x) { return std::asin(x); }
float __nv_acosf(float x) { return std::acos(x); }
float __nv_atanf(float x) { return std::atan(x); }
float __nv_atan2f(float y, float x) { return std::atan2(y, x); }
float __nv_sinhf(float x) { return std::sinh(x); }
float __nv_coshf(float x) { return std::cosh(x); }
float __nv_asinhf(float x) { return std::asinh(x); }
float __nv_acoshf(float x) { return std::acosh(x); }
float __nv_atanhf(float x) { return std::atanh(x); }
float __nv_erff(float x) { return std::erf(x); }
float __nv_erfcf(float x) { return std::erfc(x); }
float __nv_cbrtf(float x) { return std::cbrt(x); }
float __nv_floorf(float x) { return std::floor(x); }
float __nv_ceilf(float x) { return std::ceil(x); }
float __nv_truncf(float x) { return std::trunc(x); }
float __nv_roundf(float x) { return std::round(x); }
float __nv_rintf(float x) { return std::nearbyint(x); }
float __nv_copysignf(float x, float y) { return std::copysign(x, y); }

// ex2.approx.ftz.f32: subnormal inputs and results flush to zero (an input
// keeps its sign, 2^-0 is 1; a result flushes to +0).
float __nvemu_ex2_approx_ftz(float x) {
  if (std::fpclassify(x) == FP_SUBNORMAL)
    x = std::copysign(0.0f, x);
  float r = std::exp2(x);
  return std::fpclassify(r) == FP_SUBNORMAL ? 0.0f : r;
}

} // extern "C"

//===----------------------------------------------------------------------===//
// AMD (wave64): the CDNA3 ISA's semantics of the operations the ROCDL
// kernels use (attn-rocdl-to-host). Lanes are the threads of a wave.
//===----------------------------------------------------------------------===//

extern "C" {

float __amdemu_exp2(float x) {
  float r = std::exp2(x);
  return std::fpclassify(r) == FP_SUBNORMAL ? 0.0f : r;
}

int32_t __amdemu_mbcnt(int32_t high, int32_t mask, int32_t init) {
  // v_mbcnt_lo: bits of mask set below this lane among lanes 0-31;
  // v_mbcnt_hi: among lanes 32-63.
  unsigned lane = cur->lane;
  unsigned below = high ? (lane > 32 ? lane - 32 : 0) : std::min(lane, 32u);
  uint64_t bits = static_cast<uint32_t>(mask) &
                  ((below >= 32) ? 0xffffffffull : ((1ull << below) - 1));
  return init + __builtin_popcountll(bits);
}

int32_t __amdemu_bpermute(int32_t address, int32_t data) {
  // ds_bpermute_b32: each lane reads the value of lane (address / 4) mod 64.
  cur->in[0] = address;
  cur->in[1] = data;
  collective(Collective::Bpermute, "ds_bpermute", [](Thread *lanes, unsigned n) {
    for (unsigned l = 0; l < n; ++l) {
      unsigned src = (static_cast<uint32_t>(lanes[l].in[0]) >> 2) % 64;
      if (src >= n)
        fail(format("ds_bpermute from lane %u of a %u-lane wave", src, n));
      lanes[l].out[0] = static_cast<uint32_t>(lanes[src].in[1]);
    }
  });
  return static_cast<int32_t>(cur->out[0]);
}

int32_t __amdemu_swizzle(int32_t data, int32_t pattern) {
  // ds_swizzle_b32 within each group of 32 lanes. offset[15] = 1: quad
  // mode, lane i of a quad reads lane offset[2i+1:2i]; otherwise bit mode,
  // lane i reads ((i & and) | or) ^ xor with and = offset[4:0],
  // or = offset[9:5], xor = offset[14:10].
  cur->in[0] = data;
  cur->in[1] = pattern;
  collective(Collective::Swizzle, "ds_swizzle", [](Thread *lanes, unsigned n) {
    uint32_t offset = static_cast<uint32_t>(lanes[0].in[1]) & 0xffff;
    for (unsigned l = 0; l < n; ++l) {
      if (static_cast<uint32_t>(lanes[l].in[1] & 0xffff) != offset)
        fail("lanes of a wave ran ds_swizzle with different patterns");
      unsigned i = l % 32, src;
      if (offset & 0x8000) {
        if (offset >= 0xe000)
          fail(format("ds_swizzle pattern 0x%x (FFT mode): not emulated", offset));
        src = (i & ~3u) | ((offset >> (2 * (i & 3))) & 3);
      } else {
        unsigned andMask = offset & 0x1f, orMask = (offset >> 5) & 0x1f,
                 xorMask = (offset >> 10) & 0x1f;
        src = ((i & andMask) | orMask) ^ xorMask;
      }
      src += l - i;
      if (src >= n)
        fail(format("ds_swizzle from lane %u of a %u-lane wave", src, n));
      lanes[l].out[0] = static_cast<uint32_t>(lanes[src].in[0]);
    }
  });
  return static_cast<int32_t>(cur->out[0]);
}

void __amdemu_mfma(int32_t kind, int64_t a, int64_t b, const float *c,
                   float *d) {
  // v_mfma_f32_16x16x16{f16,bf16_1k}: lane l holds A[l % 16][4 (l / 16) + i],
  // B[4 (l / 16) + i][l % 16] and D[4 (l / 16) + i][l % 16], i = 0..3.
  // v_mfma_f32_16x16x4_f32: A[l % 16][l / 16], B[l / 16][l % 16], the same
  // D (CDNA3 ISA, "Dependent Arithmetic" / the matrix layouts).
  if (cta->warps[cur->warp].size != 64)
    fail("v_mfma in a partial wave");
  if (kind < AMDEMU_MFMA_F16 || kind > AMDEMU_MFMA_F32)
    fail(format("v_mfma of unknown kind %d", kind));
  int32_t regs[7] = {kind,
                     static_cast<int32_t>(a), static_cast<int32_t>(a >> 32),
                     static_cast<int32_t>(b), static_cast<int32_t>(b >> 32)};
  std::memcpy(cur->in, regs, sizeof(regs));
  std::memcpy(&cur->in[5], c, 4 * sizeof(float));
  collective(Collective::Mfma, "v_mfma", [](Thread *lanes, unsigned) {
    int32_t kind = lanes[0].in[0];
    bool isBf16 = kind == AMDEMU_MFMA_BF16, isF32 = kind == AMDEMU_MFMA_F32;
    int depth = isF32 ? 4 : 16;
    double A[16][16], B[16][16], C[16][16];
    for (unsigned l = 0; l < 64; ++l) {
      const int32_t *in = lanes[l].in;
      if (in[0] != kind)
        fail("lanes of a wave ran v_mfma on different types");
      unsigned rc = l % 16, k0 = 4 * (l / 16);
      for (unsigned i = 0; i < 4; ++i) {
        auto elt = [&](int first) {
          uint32_t word = static_cast<uint32_t>(in[first + i / 2]);
          return static_cast<uint16_t>(i % 2 ? word >> 16 : word & 0xffff);
        };
        if (isF32 && i == 0) {
          float av, bv;
          std::memcpy(&av, &in[1], 4);
          std::memcpy(&bv, &in[3], 4);
          A[rc][l / 16] = av;
          B[l / 16][rc] = bv;
        } else if (!isF32) {
          A[rc][k0 + i] = half(elt(1), isBf16);
          B[k0 + i][rc] = half(elt(3), isBf16);
        }
        float cv;
        std::memcpy(&cv, &in[5 + i], 4);
        C[k0 + i][rc] = cv;
      }
    }
    for (unsigned l = 0; l < 64; ++l) {
      unsigned col = l % 16, r0 = 4 * (l / 16);
      for (unsigned i = 0; i < 4; ++i) {
        double acc = C[r0 + i][col];
        for (int k = 0; k < depth; ++k)
          acc += A[r0 + i][k] * B[k][col];
        float f = static_cast<float>(acc);
        std::memcpy(&lanes[l].out[i], &f, 4);
      }
    }
  });
  std::memcpy(d, cur->out, 16);
}

} // extern "C"
