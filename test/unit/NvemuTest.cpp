//===- NvemuTest.cpp - the NVIDIA kernel emulator against the PTX ISA -----===//
//
// Small hand-written kernels call the emulator the way attn-nvvm-to-host's
// output does. The fragment tests use the identities real kernels rely on
// (ldmatrix of a row-major tile is mma.sync's A operand; ldmatrix.trans of a
// row-major K x N tile is its B operand), so ldmatrix and mma.sync are
// checked against a plain matmul rather than against each other's tables.
//
//===----------------------------------------------------------------------===//

#include "../../tools/nvemu/nvemu.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

struct Launch {
  int rc;
  std::string error;
};

Launch launch(nvemu_entry k, std::vector<void *> params, unsigned blockX,
              unsigned smem, unsigned gridX = 1) {
  unsigned grid[3] = {gridX, 1, 1}, block[3] = {blockX, 1, 1};
  char err[1024] = {0};
  int rc = nvemu_launch(k, params.data(), grid, block, smem, err, sizeof(err));
  return {rc, err};
}

template <typename T> T param(void **p, int i) { return *static_cast<T *>(p[i]); }

uint16_t toBf16(float f) {
  uint32_t b;
  std::memcpy(&b, &f, 4);
  return static_cast<uint16_t>(b >> 16); // test values are exact in bf16
}

int32_t tid() { return __nvemu_sreg(NVEMU_TID_X); }

// A (16 x 16, row-major) and B (16 x 8) in global memory, D (16 x 8) out.
// bTransposed: B given as N x K rows (the K-major "col" operand, loaded
// with plain ldmatrix) instead of K x N rows (loaded with .trans).
template <bool bTransposed> void mmaKernel(void **p) {
  auto *a = param<const uint16_t *>(p, 0);
  auto *b = param<const uint16_t *>(p, 1);
  auto *d = param<float *>(p, 2);
  auto *smem = static_cast<uint16_t *>(__nvemu_dynamic_smem());
  uint16_t *sa = smem, *sb = smem + 256;
  int t = tid();
  for (int i = t; i < 256; i += 32)
    sa[i] = a[i];
  for (int i = t; i < 128; i += 32)
    sb[i] = b[i];
  __nvemu_barrier(0, -1);
  // A: matrices (rows 0-7, cols 0-7), (rows 8-15, cols 0-7), (rows 0-7,
  // cols 8-15), (rows 8-15, cols 8-15); lane 8i + r gives row r of matrix i.
  int i = t / 8, r = t % 8;
  int32_t af[4], bf[4];
  __nvemu_ldmatrix(sa + (r + 8 * (i % 2)) * 16 + 8 * (i / 2), 4, 0, af);
  if (bTransposed) // rows n, matrices k 0-7 and 8-15
    __nvemu_ldmatrix(sb + (t % 8) * 16 + 8 * ((t / 8) % 2), 2, 0, bf);
  else // rows k: matrix 0 = k 0-7, matrix 1 = k 8-15
    __nvemu_ldmatrix(sb + (t % 16) * 8, 2, 1, bf);
  float out[4];
  __nvemu_mma_m16n8k16(1, out, af[0], af[1], af[2], af[3], bf[0], bf[1], 0.5f,
                       0.5f, 0.5f, 0.5f);
  // D layout (PTX ISA, m16n8 f32 accumulator): row t/4 (+8), cols 2(t%4)+{0,1}.
  int g = t / 4, c = 2 * (t % 4);
  d[g * 8 + c] = out[0];
  d[g * 8 + c + 1] = out[1];
  d[(g + 8) * 8 + c] = out[2];
  d[(g + 8) * 8 + c + 1] = out[3];
}

template <bool bTransposed> void checkMma() {
  std::vector<float> A(256), B(128); // B[k][n]
  for (int i = 0; i < 256; ++i)
    A[i] = static_cast<float>((i * 7) % 13 - 6) / 4;
  for (int i = 0; i < 128; ++i)
    B[i] = static_cast<float>((i * 5) % 11 - 5) / 2;
  std::vector<uint16_t> a(256), b(128);
  for (int i = 0; i < 256; ++i)
    a[i] = toBf16(A[i]);
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < 8; ++n)
      b[bTransposed ? n * 16 + k : k * 8 + n] = toBf16(B[k * 8 + n]);
  std::vector<float> d(128, -1);
  const uint16_t *pa = a.data(), *pb = b.data();
  float *pd = d.data();
  Launch l = launch(mmaKernel<bTransposed>, {&pa, &pb, &pd}, 32, 1024);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int m = 0; m < 16; ++m)
    for (int n = 0; n < 8; ++n) {
      double want = 0.5;
      for (int k = 0; k < 16; ++k)
        want += static_cast<double>(A[m * 16 + k]) * B[k * 8 + n];
      EXPECT_FLOAT_EQ(d[m * 8 + n], static_cast<float>(want)) << m << "," << n;
    }
}

TEST(Nvemu, LdMatrixFeedsMmaRowMajorA_KMajorB) { checkMma<true>(); }
TEST(Nvemu, LdMatrixTransFeedsMmaRowMajorB) { checkMma<false>(); }

void shflKernel(void **p) {
  auto *out = param<int32_t *>(p, 0);
  int t = tid(), v = 100 + t, ok;
  out[t] = __nvemu_shfl(NVEMU_SHFL_BFLY, -1, v, 5, 0x1f, &ok);
  out[32 + t] = __nvemu_shfl(NVEMU_SHFL_DOWN, -1, v, 3, 0x1f, &ok);
  out[64 + t] = ok;
  out[96 + t] = __nvemu_shfl(NVEMU_SHFL_UP, -1, v, 2, 0, &ok);
  // Width 8 segments (CUDA's __shfl_sync(m, v, 3, 8)): lane 3 of the segment.
  out[128 + t] = __nvemu_shfl(NVEMU_SHFL_IDX, -1, v, 3, ((32 - 8) << 8) | 0x1f, &ok);
}

TEST(Nvemu, Ex2FtzFlushesSubnormalResults) {
  EXPECT_EQ(__nvemu_ex2_approx_ftz(3.0f), 8.0f);
  EXPECT_EQ(__nvemu_ex2_approx_ftz(-126.0f), std::ldexp(1.0f, -126));
  // 2^-127 is subnormal: flushed to +0, where exp2 keeps it.
  EXPECT_EQ(std::exp2(-127.0f), std::ldexp(1.0f, -127));
  EXPECT_EQ(__nvemu_ex2_approx_ftz(-127.0f), 0.0f);
  EXPECT_FALSE(std::signbit(__nvemu_ex2_approx_ftz(-127.0f)));
  EXPECT_EQ(__nvemu_ex2_approx_ftz(-INFINITY), 0.0f);
  EXPECT_EQ(__nvemu_ex2_approx_ftz(INFINITY), INFINITY);
}

TEST(Nvemu, AmdExp2FlushesSubnormalResults) {
  EXPECT_EQ(__amdemu_exp2(-3.0f), 0.125f);
  EXPECT_EQ(__amdemu_exp2(-126.0f), std::ldexp(1.0f, -126));
  EXPECT_EQ(__amdemu_exp2(-127.0f), 0.0f);
  EXPECT_EQ(__amdemu_exp2(-INFINITY), 0.0f);
}

TEST(Nvemu, ShflModesFollowThePtxLaneArithmetic) {
  std::vector<int32_t> out(160, -1);
  int32_t *po = out.data();
  Launch l = launch(shflKernel, {&po}, 32, 0);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int t = 0; t < 32; ++t) {
    EXPECT_EQ(out[t], 100 + (t ^ 5));
    EXPECT_EQ(out[32 + t], 100 + (t + 3 < 32 ? t + 3 : t)) << t;
    EXPECT_EQ(out[64 + t], t + 3 < 32) << t;
    EXPECT_EQ(out[96 + t], 100 + (t >= 2 ? t - 2 : t)) << t;
    EXPECT_EQ(out[128 + t], 100 + (t / 8) * 8 + 3) << t;
  }
}

void barrierKernel(void **p) {
  auto *out = param<int32_t *>(p, 0);
  auto *s = static_cast<int32_t *>(__nvemu_dynamic_smem());
  int t = tid(), n = __nvemu_sreg(NVEMU_NTID_X);
  s[t] = t * t;
  __nvemu_barrier(0, -1);
  out[__nvemu_sreg(NVEMU_CTAID_X) * n + t] = s[(t + 1) % n];
}

TEST(Nvemu, BarrierPublishesSharedMemoryInEveryCta) {
  std::vector<int32_t> out(2 * 96, -1);
  int32_t *po = out.data();
  Launch l = launch(barrierKernel, {&po}, 96, 96 * 4, 2);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int c = 0; c < 2; ++c)
    for (int t = 0; t < 96; ++t)
      EXPECT_EQ(out[c * 96 + t], ((t + 1) % 96) * ((t + 1) % 96));
}

void skipBarrierKernel(void **) {
  if (tid() != 5)
    __nvemu_barrier(0, -1);
}

TEST(Nvemu, AThreadSkippingABarrierIsADeadlock) {
  Launch l = launch(skipBarrierKernel, {}, 64, 0);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("deadlock"), std::string::npos) << l.error;
}

void divergentKernel(void **) {
  int ok, t = tid();
  if (t % 2)
    __nvemu_shfl(NVEMU_SHFL_BFLY, -1, t, 1, 0x1f, &ok);
  else {
    int32_t out[4];
    __nvemu_ldmatrix(__nvemu_dynamic_smem(), 1, 0, out);
  }
}

TEST(Nvemu, LanesAtDifferentCollectivesFail) {
  Launch l = launch(divergentKernel, {}, 32, 256);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("different warp-collective"), std::string::npos) << l.error;
}

void cpAsyncKernel(void **p) {
  auto *src = param<const uint8_t *>(p, 0);
  auto *out = param<uint8_t *>(p, 1);
  auto *s = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  if (tid() != 0)
    return;
  __nvemu_cp_async(s, src, 16, 16);
  __nvemu_cp_async_commit();
  __nvemu_cp_async(s + 16, src + 16, 16, 4); // 4 bytes, 12 zeros
  __nvemu_cp_async_commit();
  std::memcpy(out, s, 32); // before any wait: not landed
  __nvemu_cp_async_wait(1); // the older group only
  std::memcpy(out + 32, s, 32);
  __nvemu_cp_async_wait(0);
  std::memcpy(out + 64, s, 32);
}

TEST(Nvemu, CpAsyncLandsAtItsWaitGroup) {
  std::vector<uint8_t> src(32), out(96, 0);
  for (int i = 0; i < 32; ++i)
    src[i] = static_cast<uint8_t>(i + 1);
  const uint8_t *ps = src.data();
  uint8_t *po = out.data();
  Launch l = launch(cpAsyncKernel, {&ps, &po}, 32, 64);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int i = 0; i < 32; ++i) {
    EXPECT_EQ(out[i], 0xff) << "shared memory starts as NaN bytes";
    EXPECT_EQ(out[32 + i], i < 16 ? i + 1 : 0xff) << i;
    EXPECT_EQ(out[64 + i], i < 20 ? i + 1 : 0) << i;
  }
}

// A CTA that exits before a wait_group covers its copies: on a GPU they
// land after it, in shared memory the SM may have given the next CTA.
void cpAsyncExitKernel(void **p) {
  auto *src = param<const uint8_t *>(p, 0);
  auto *s = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  if (tid() == 0) {
    __nvemu_cp_async_commit(); // an empty group
    __nvemu_cp_async(s, src, 16, 16);
    __nvemu_cp_async_commit();
    if (param<int32_t>(p, 1))
      __nvemu_cp_async_wait(1); // retires the empty group only
  }
}

TEST(Nvemu, CpAsyncInFlightAtExitFails) {
  std::vector<uint8_t> src(16, 1);
  const uint8_t *ps = src.data();
  for (int32_t partialWait : {0, 1}) {
    Launch l = launch(cpAsyncExitKernel, {&ps, &partialWait}, 32, 64);
    EXPECT_EQ(l.rc, 1) << partialWait;
    EXPECT_NE(l.error.find("1 cp.async copies in flight"), std::string::npos)
        << l.error;
  }
}

void outOfBoundsKernel(void **) {
  int32_t out[4];
  auto *s = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  __nvemu_ldmatrix(s + 16 * tid(), 4, 0, out); // 32 rows of 16 bytes
}

TEST(Nvemu, LdMatrixOutsideSharedMemoryFails) {
  EXPECT_EQ(launch(outOfBoundsKernel, {}, 32, 32 * 16).rc, 0);
  Launch l = launch(outOfBoundsKernel, {}, 32, 31 * 16);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("outside"), std::string::npos) << l.error;
}

void overrunKernel(void **) {
  auto *s = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  if (tid() == 0)
    s[128] = 1; // one past a 128-byte buffer
}

TEST(Nvemu, WritesPastSharedMemoryAreCaught) {
  Launch l = launch(overrunKernel, {}, 32, 128);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("past the end"), std::string::npos) << l.error;
}


// ---- sm_90a: wgmma, mbarriers, TMA --------------------------------------

// Descriptor fields (PTX ISA "Matrix Descriptor Format"): start address,
// leading and stride byte offsets (all >> 4), swizzle mode in bits 62-63.
uint64_t descriptor(const void *p, uint64_t lbo, uint64_t sbo, uint64_t mode) {
  uint64_t addr = reinterpret_cast<uintptr_t>(p) & 0x3ffff;
  return (addr >> 4) | ((lbo >> 4) << 16) | ((sbo >> 4) << 32) | (mode << 62);
}

// Accumulator register i of warpgroup thread t (ISA: each warp owns 16
// rows, per n8 block the layout of mma.sync's C).
void accumulatorCell(int t, int i, int &row, int &col) {
  int w = t / 32, l = t % 32;
  row = 16 * w + l / 4 + 8 * ((i / 2) % 2);
  col = 8 * (i / 4) + 2 * (l % 4) + i % 2;
}

// Thread t's accumulator registers into D (64 x N, row-major).
template <int N> void storeAccumulator(int t, const float *out, float *d) {
  for (int i = 0; i < N / 2; ++i) {
    int row, col;
    accumulatorCell(t, i, row, col);
    d[row * N + col] = out[i];
  }
}

struct WgmmaCase {
  std::vector<float> A, B; // 64 x 16, 16 x N
  int n;
};

float testValue(int i, int mod, float div) {
  return static_cast<float>((i * 7 + 3) % mod - mod / 2) / div;
}

// B (16 x N, row-major) into core matrices: K-major (bTrans = 0: N x K
// core matrices, LBO 128, SBO 256) or N-major (bTrans = 1: core matrices
// of 8 K-rows x 8 N, SBO 256 along N, LBO 128 along K).
template <int N, bool bTrans> void placeB(uint8_t *sb, const uint16_t *b) {
  for (int k = 0; k < 16; ++k)
    for (int n = 0; n < N; ++n) {
      size_t off = bTrans ? (n / 8) * 256 + (k / 8) * 128 + (k % 8) * 16 + (n % 8) * 2
                          : (n / 8) * 256 + (k / 8) * 128 + (n % 8) * 16 + (k % 8) * 2;
      std::memcpy(sb + off, &b[k * N + n], 2);
    }
}

// The wgmma test kernels' parameters (A, B in; D out) and their shared
// memory: A's 64 x 16 tile, then B's.
struct WgmmaArgs {
  explicit WgmmaArgs(void **p)
      : a(param<const uint16_t *>(p, 0)), b(param<const uint16_t *>(p, 1)),
        d(param<float *>(p, 2)),
        sa(static_cast<uint8_t *>(__nvemu_dynamic_smem())),
        sb(sa + 64 * 16 * 2) {}
  const uint16_t *a, *b;
  float *d;
  uint8_t *sa, *sb;
};

// A: K-major core matrices (8 rows x 16 bytes), LBO 128 along K, SBO 256
// along M; B as placeB.
template <int N, bool bTrans> void wgmmaKernel(void **p) {
  WgmmaArgs k(p);
  if (tid() == 0) {
    for (int m = 0; m < 64; ++m)
      for (int c = 0; c < 16; ++c)
        std::memcpy(k.sa + (m / 8) * 256 + (c / 8) * 128 + (m % 8) * 16 +
                        (c % 8) * 2,
                    &k.a[m * 16 + c], 2);
    placeB<N, bTrans>(k.sb, k.b);
  }
  __nvemu_barrier(0, -1);
  float in[N / 2], out[N / 2];
  for (int i = 0; i < N / 2; ++i)
    in[i] = 1.0f; // ignored: scale-d 0
  __nvemu_wgmma(NVEMU_WGMMA_BF16 | (bTrans ? NVEMU_WGMMA_TRANS_B : 0), N,
                descriptor(k.sa, 128, 256, 0), descriptor(k.sb, 128, 256, 0),
                in, out);
  __nvemu_wgmma_commit();
  __nvemu_wgmma_wait(0);
  storeAccumulator<N>(tid(), out, k.d);
}

/// Runs `kernel` (A 64 x 16, B 16 x N in, D out) and checks D against
/// c0 + A B.
template <int N> void checkWgmma(nvemu_entry kernel, double c0) {
  std::vector<float> A(64 * 16), B(16 * N);
  std::vector<uint16_t> a(A.size()), b(B.size());
  for (size_t i = 0; i < A.size(); ++i)
    a[i] = toBf16(A[i] = testValue(static_cast<int>(i), 13, 4));
  for (size_t i = 0; i < B.size(); ++i)
    b[i] = toBf16(B[i] = testValue(static_cast<int>(i), 11, 2));
  std::vector<float> d(64 * N, -7);
  const uint16_t *pa = a.data(), *pb = b.data();
  float *pd = d.data();
  Launch l = launch(kernel, {&pa, &pb, &pd}, 128, 8192);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < N; ++n) {
      double want = c0;
      for (int k = 0; k < 16; ++k)
        want += static_cast<double>(A[m * 16 + k]) * B[k * N + n];
      EXPECT_FLOAT_EQ(d[m * N + n], static_cast<float>(want)) << m << "," << n;
    }
}

TEST(Nvemu, WgmmaKMajorCoreMatricesMatchAMatmul) {
  checkWgmma<16>(wgmmaKernel<16, false>, 0);
}
TEST(Nvemu, WgmmaNMajorBMatchesAMatmul) {
  checkWgmma<24>(wgmmaKernel<24, true>, 0);
}

// wgmma with A in registers: each warp's ldmatrix.x4 of its 16 rows of a
// row-major A is mma.sync's A fragment (LdMatrixFeedsMmaRowMajorA_KMajorB),
// and the ISA lays wgmma's register A out as that fragment per warp. B is
// N-major core matrices as in WgmmaNMajorBMatchesAMatmul; the accumulator
// comes in as 0.5 (scale-d is 1 in that form).
template <int N> void wgmmaRegisterAKernel(void **p) {
  WgmmaArgs k(p);
  int t = tid();
  if (t == 0) {
    std::memcpy(k.sa, k.a, 64 * 16 * 2);
    placeB<N, true>(k.sb, k.b);
  }
  __nvemu_barrier(0, -1);
  int w = t / 32, l = t % 32, i = l / 8, r = l % 8;
  int32_t af[4];
  __nvemu_ldmatrix(k.sa + ((16 * w + r + 8 * (i % 2)) * 16 + 8 * (i / 2)) * 2,
                   4, 0, af);
  float in[N / 2], out[N / 2];
  for (int j = 0; j < N / 2; ++j)
    in[j] = 0.5f;
  __nvemu_wgmma_rs(NVEMU_WGMMA_BF16 | NVEMU_WGMMA_TRANS_B | NVEMU_WGMMA_SCALE_D,
                   N, reinterpret_cast<const uint32_t *>(af),
                   descriptor(k.sb, 128, 256, 0), in, out);
  __nvemu_wgmma_commit();
  __nvemu_wgmma_wait(0);
  storeAccumulator<N>(t, out, k.d);
}

TEST(Nvemu, WgmmaRegisterAIsTheLdmatrixFragmentPerWarp) {
  checkWgmma<16>(wgmmaRegisterAKernel<16>, 0.5);
}

// A 64 x 64 bf16 tile by TMA with 128-byte swizzle, read by wgmma through
// a 128-byte-swizzle K-major descriptor at its second k16 step (start + 32
// bytes, SBO 1024 between 8-row groups).
void tmaWgmmaKernel(void **p) {
  auto *map = static_cast<const nvemu_tensor_map *>(p[0]);
  auto *b = param<const uint16_t *>(p, 1);
  auto *d = param<float *>(p, 2);
  auto *smem = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  uint8_t *sa = smem, *sb = smem + 8192;
  auto *bar = reinterpret_cast<uint64_t *>(smem + 8192 + 256);
  int t = tid();
  if (t == 0) {
    __nvemu_mbarrier_init(bar, 1);
    for (int k = 0; k < 16; ++k) // B: 16 x 8, K-major, no swizzle
      for (int n = 0; n < 8; ++n)
        std::memcpy(sb + (k / 8) * 128 + (n % 8) * 16 + (k % 8) * 2, &b[k * 8 + n], 2);
  }
  __nvemu_barrier(0, -1);
  if (t == 0) {
    __nvemu_mbarrier_arrive(bar, 1, 8192);
    __nvemu_tma_load(sa, map, bar, 2, 0, 0, 0, 0, 0);
  }
  __nvemu_mbarrier_wait_parity(bar, 0);
  float in[4] = {0, 0, 0, 0}, out[4];
  __nvemu_wgmma(NVEMU_WGMMA_BF16, 8, descriptor(sa + 32, 16, 1024, 1),
                descriptor(sb, 128, 256, 0), in, out);
  __nvemu_wgmma_commit();
  __nvemu_wgmma_wait(0);
  for (int i = 0; i < 4; ++i) {
    int row, col;
    accumulatorCell(t, i, row, col);
    d[row * 8 + col] = out[i];
  }
}

nvemu_tensor_map tensorMap2d(const void *base, uint64_t cols, uint64_t rows,
                             uint32_t boxCols, uint32_t boxRows, uint32_t swizzle) {
  nvemu_tensor_map m;
  std::memset(&m, 0, sizeof(m));
  m.magic = NVEMU_TENSOR_MAP_MAGIC;
  m.rank = 2;
  m.element_bytes = 2;
  m.swizzle_bytes = swizzle;
  m.address = reinterpret_cast<uintptr_t>(base);
  m.dims[0] = cols;
  m.dims[1] = rows;
  m.strides[0] = 2;
  m.strides[1] = cols * 2;
  m.box[0] = boxCols;
  m.box[1] = boxRows;
  return m;
}

TEST(Nvemu, TmaSwizzledTileFeedsWgmmaSwizzledDescriptor) {
  std::vector<float> A(64 * 64), B(16 * 8);
  std::vector<uint16_t> a(A.size()), b(B.size());
  for (size_t i = 0; i < A.size(); ++i)
    a[i] = toBf16(A[i] = testValue(static_cast<int>(i), 17, 4));
  for (size_t i = 0; i < B.size(); ++i)
    b[i] = toBf16(B[i] = testValue(static_cast<int>(i), 9, 2));
  nvemu_tensor_map map = tensorMap2d(a.data(), 64, 64, 64, 64, 128);
  std::vector<float> d(64 * 8, -7);
  const uint16_t *pb = b.data();
  float *pd = d.data();
  Launch l = launch(tmaWgmmaKernel, {&map, &pb, &pd}, 128, 8192 + 512);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int m = 0; m < 64; ++m)
    for (int n = 0; n < 8; ++n) {
      double want = 0;
      for (int k = 0; k < 16; ++k)
        want += static_cast<double>(A[m * 64 + 16 + k]) * B[k * 8 + n];
      EXPECT_FLOAT_EQ(d[m * 8 + n], static_cast<float>(want)) << m << "," << n;
    }
}

// A box reaching past the tensor reads zeros there; the data lands only
// when the mbarrier's phase is waited for.
void tmaOutOfBoundsKernel(void **p) {
  auto *map = static_cast<const nvemu_tensor_map *>(p[0]);
  auto *out = param<uint16_t *>(p, 1);
  auto *smem = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  auto *bar = reinterpret_cast<uint64_t *>(smem + 2048);
  if (tid() != 0)
    return;
  __nvemu_mbarrier_init(bar, 1);
  __nvemu_mbarrier_arrive(bar, 1, 8 * 64 * 2);
  __nvemu_tma_load(smem, map, bar, 2, 0, 4, 0, 0, 0); // rows 4..11 of 10
  std::memcpy(out, smem, 2); // landed only if eager (ATTN_NVEMU_TMA)
  __nvemu_mbarrier_wait_parity(bar, 0);
  std::memcpy(out + 1, smem, 8 * 64 * 2);
}

/// Runs tmaOutOfBoundsKernel on a 10 x 64 tensor holding 1, 2, ..., checks
/// the box it read after the wait (rows 4 to 11) and returns the first
/// element the kernel saw before the wait.
uint16_t checkTmaOutOfBounds() {
  std::vector<uint16_t> g(10 * 64);
  for (size_t i = 0; i < g.size(); ++i)
    g[i] = static_cast<uint16_t>(i + 1);
  nvemu_tensor_map map = tensorMap2d(g.data(), 64, 10, 64, 8, 0);
  std::vector<uint16_t> out(1 + 8 * 64, 0);
  uint16_t *po = out.data();
  Launch l = launch(tmaOutOfBoundsKernel, {&map, &po}, 32, 4096);
  EXPECT_EQ(l.rc, 0) << l.error;
  for (int r = 0; r < 8; ++r)
    for (int c = 0; c < 64; ++c)
      EXPECT_EQ(out[1 + r * 64 + c], 4 + r < 10 ? g[(4 + r) * 64 + c] : 0) << r << "," << c;
  return out[0];
}

TEST(Nvemu, TmaOutOfBoundsRowsReadZerosAndLandAtTheWait) {
  EXPECT_EQ(checkTmaOutOfBounds(), 0xffff);
}

// ATTN_NVEMU_TMA=eager: the same load lands when issued (and completes
// the phase's tx), the other end of what a GPU may do.
TEST(Nvemu, TmaEagerLandsWhenIssued) {
  setenv("ATTN_NVEMU_TMA", "eager", 1);
  uint16_t before = checkTmaOutOfBounds();
  unsetenv("ATTN_NVEMU_TMA");
  EXPECT_EQ(before, 4 * 64 + 1);
}

// A TMA load whose mbarrier no thread waits for lands after the CTA.
void tmaExitKernel(void **p) {
  auto *map = static_cast<const nvemu_tensor_map *>(p[0]);
  auto *smem = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  auto *bar = reinterpret_cast<uint64_t *>(smem + 2048);
  if (tid() == 0) {
    __nvemu_mbarrier_init(bar, 1);
    __nvemu_mbarrier_arrive(bar, 1, 8 * 64 * 2);
    __nvemu_tma_load(smem, map, bar, 2, 0, 0, 0, 0, 0);
  }
}

TEST(Nvemu, TmaInFlightAtExitFails) {
  std::vector<uint16_t> g(8 * 64, 1);
  nvemu_tensor_map map = tensorMap2d(g.data(), 64, 8, 64, 8, 0);
  Launch l = launch(tmaExitKernel, {&map}, 32, 4096);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("TMA copies in flight"), std::string::npos)
      << l.error;
}

// Two arrivals complete phase 0 whatever the order; waiting for parity 0
// then passes and parity 1 (the phase in progress) would wait.
void mbarrierKernel(void **p) {
  auto *out = param<int32_t *>(p, 0);
  auto *bar = static_cast<uint64_t *>(__nvemu_dynamic_smem());
  int t = tid();
  if (t == 0)
    __nvemu_mbarrier_init(bar, 2);
  __nvemu_barrier(0, -1);
  if (t == 32 || t == 64)
    __nvemu_mbarrier_arrive(bar, 1, 0);
  __nvemu_mbarrier_wait_parity(bar, 0);
  out[t] = 1;
}

TEST(Nvemu, MbarrierPhaseCompletesOnItsArrivals) {
  std::vector<int32_t> out(96, 0);
  int32_t *po = out.data();
  Launch l = launch(mbarrierKernel, {&po}, 96, 64);
  ASSERT_EQ(l.rc, 0) << l.error;
  for (int t = 0; t < 96; ++t)
    EXPECT_EQ(out[t], 1);
}

void mbarrierShortKernel(void **) {
  auto *bar = static_cast<uint64_t *>(__nvemu_dynamic_smem());
  if (tid() == 0) {
    __nvemu_mbarrier_init(bar, 2);
    __nvemu_mbarrier_arrive(bar, 1, 0);
    __nvemu_mbarrier_wait_parity(bar, 0); // one arrival short
  }
}

TEST(Nvemu, MbarrierWaitWithoutItsArrivalsIsADeadlock) {
  Launch l = launch(mbarrierShortKernel, {}, 32, 64);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("mbarrier.try_wait.parity"), std::string::npos) << l.error;
}

// Overwriting a wgmma operand before the wait_group is a race. (The
// product completes at the first wait that retires it; later writes are
// fine.)
void wgmmaRaceKernel(void **) {
  auto *smem = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  int t = tid();
  if (t == 0)
    std::memset(smem, 0, 4096);
  __nvemu_barrier(0, -1);
  float in[4] = {0, 0, 0, 0}, out[4];
  __nvemu_wgmma(NVEMU_WGMMA_BF16, 8, descriptor(smem, 128, 256, 0),
                descriptor(smem + 2048, 128, 256, 0), in, out);
  __nvemu_wgmma_commit();
  if (t == 0)
    smem[1] = 0x3f; // A[0][0] := 0.5 (bf16 0x3f00) while in flight
  __nvemu_barrier(0, -1); // every wait comes after the write
  __nvemu_wgmma_wait(0);
}

TEST(Nvemu, WgmmaOperandOverwrittenBeforeItsWaitFails) {
  Launch l = launch(wgmmaRaceKernel, {}, 128, 4096);
  EXPECT_EQ(l.rc, 1);
  EXPECT_NE(l.error.find("changed before its wgmma.wait_group"), std::string::npos) << l.error;
}

// A warpgroup that frees a buffer (arrives on its "empty" mbarrier) while
// its product still reads it lets a producer refill it under the product:
// the arrival steps aside until the producer it woke ran, whatever the
// thread order. Freeing it after the wait is the protocol.
template <bool FreeBeforeWait> void emptyBarrierKernel(void **) {
  auto *smem = static_cast<uint8_t *>(__nvemu_dynamic_smem());
  void *empty = smem + 8192;
  int t = tid();
  if (t == 0) {
    std::memset(smem, 0, 4096);
    __nvemu_mbarrier_init(empty, 128);
  }
  __nvemu_barrier(0, -1);
  if (t >= 128) {
    if (t == 128) {
      __nvemu_mbarrier_wait_parity(empty, 0);
      smem[1] = 0x3f; // the refill
    }
    return;
  }
  float in[4] = {0, 0, 0, 0}, out[4];
  __nvemu_wgmma(NVEMU_WGMMA_BF16, 8, descriptor(smem, 128, 256, 0),
                descriptor(smem + 2048, 128, 256, 0), in, out);
  __nvemu_wgmma_commit();
  if (FreeBeforeWait)
    __nvemu_mbarrier_arrive(empty, 1, 0);
  __nvemu_wgmma_wait(0);
  if (!FreeBeforeWait)
    __nvemu_mbarrier_arrive(empty, 1, 0);
}

TEST(Nvemu, BufferFreedBeforeItsProductsWaitIsRefilledUnderIt) {
  for (const char *seed : {"0", "1", "7"}) {
    setenv("ATTN_NVEMU_SEED", seed, 1);
    Launch bad = launch(emptyBarrierKernel<true>, {}, 160, 8192 + 8);
    EXPECT_EQ(bad.rc, 1) << "seed " << seed;
    EXPECT_NE(bad.error.find("changed before its wgmma.wait_group"),
              std::string::npos)
        << bad.error;
    Launch good = launch(emptyBarrierKernel<false>, {}, 160, 8192 + 8);
    EXPECT_EQ(good.rc, 0) << "seed " << seed << ": " << good.error;
  }
  unsetenv("ATTN_NVEMU_SEED");
}
} // namespace
