/*===- nvemu.h - NVIDIA kernel emulator: the ABI of emulated kernels ------===*
 *
 * attn-nvvm-to-host turns an NVVM kernel into host code calling the
 * __nvemu_* functions below; the emulator library (Emulator.cpp) is linked
 * into the same shared object and runs a grid with nvemu_launch. The fake
 * CUDA driver (Driver.cpp) loads such objects in place of cubins.
 *
 *===----------------------------------------------------------------------===*/

#ifndef ATTN_NVEMU_H
#define ATTN_NVEMU_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The name of a binary's emulation in a bundle's nvemu/ folder is this
 * hash (FNV-1a 64) of the binary, as 16 hex digits + ".so": the bundle
 * writer names it, the emulating driver finds it from the image it loads. */
static inline uint64_t nvemu_image_hash(const void *data, size_t size) {
  const uint8_t *p = (const uint8_t *)data;
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < size; ++i)
    h = (h ^ p[i]) * 1099511628211ull;
  return h;
}

/* The per-kernel entry the pass adds: CUDA's kernelParams array. */
typedef void (*nvemu_entry)(void **params);

/* Runs every CTA of the grid (one after another, the CTA's threads as
 * fibers). Returns 0, or 1 with a message in err (a deadlock, lanes of a
 * warp at different collectives, an address outside shared memory, ...). */
int nvemu_launch(nvemu_entry entry, void **params, const unsigned grid[3],
                 const unsigned block[3], unsigned dynamic_smem, char *err,
                 size_t err_len);

/* The same for AMD kernels (attn-rocdl-to-host): wave64, `lds` bytes of
 * LDS (the kernel's static allocation plus the launch's dynamic bytes). */
int amdemu_launch(nvemu_entry entry, void **params, const unsigned grid[3],
                  const unsigned block[3], unsigned lds, char *err,
                  size_t err_len);
/* Special registers, by the code attn-nvvm-to-host passes. */
enum {
  NVEMU_TID_X, NVEMU_TID_Y, NVEMU_TID_Z, NVEMU_NTID_X, NVEMU_NTID_Y,
  NVEMU_NTID_Z, NVEMU_CTAID_X, NVEMU_CTAID_Y, NVEMU_CTAID_Z, NVEMU_NCTAID_X,
  NVEMU_NCTAID_Y, NVEMU_NCTAID_Z, NVEMU_LANEID, NVEMU_WARPID, NVEMU_WARPSIZE
};
/* shfl.sync modes. */
enum { NVEMU_SHFL_BFLY, NVEMU_SHFL_UP, NVEMU_SHFL_DOWN, NVEMU_SHFL_IDX };

int32_t __nvemu_sreg(int32_t code);
void *__nvemu_dynamic_smem(void);
/* bar.sync id, count (count < 0: every thread of the CTA). */
void __nvemu_barrier(int32_t id, int32_t count);
int32_t __nvemu_shfl(int32_t mode, int32_t member_mask, int32_t value,
                     int32_t lane_or_offset, int32_t clamp, int32_t *valid);
/* ldmatrix.sync.aligned.m8n8.xNUM[.trans].shared.b16 */
void __nvemu_ldmatrix(const void *row_address, int32_t num, int32_t trans,
                      int32_t *out);
/* mma.sync.aligned.m16n8k16.row.col.f32.{f16,bf16}.{f16,bf16}.f32 */
void __nvemu_mma_m16n8k16(int32_t bf16, float *d, int32_t a0, int32_t a1,
                          int32_t a2, int32_t a3, int32_t b0, int32_t b1,
                          float c0, float c1, float c2, float c3);
/* cp.async.{ca,cg}.shared.global [dst], [src], size, src_size */
void __nvemu_cp_async(void *dst, const void *src, int32_t size,
                      int32_t src_size);
void __nvemu_cp_async_commit(void);
void __nvemu_cp_async_wait(int32_t n);
/* bar.arrive id, count */
void __nvemu_barrier_arrive(int32_t id, int32_t count);
/* ex2.approx.ftz.f32 (subnormal inputs and results flush to zero) */
float __nvemu_ex2_approx_ftz(float x);

/* wgmma.mma_async.sync.aligned.m64nNk16.f32.{f16,bf16}: both operands by
 * shared memory descriptor; `in` / `out` are the thread's N/2 accumulator
 * registers. flags: */
enum {
  NVEMU_WGMMA_BF16 = 1,      /* else f16 */
  NVEMU_WGMMA_TRANS_A = 2,   /* A is M-major (imm-trans-a) */
  NVEMU_WGMMA_TRANS_B = 4,   /* B is N-major (imm-trans-b) */
  NVEMU_WGMMA_SCALE_D = 8,   /* D = A B + D, else D = A B */
  NVEMU_WGMMA_NEG_A = 16,
  NVEMU_WGMMA_NEG_B = 32,
  NVEMU_WGMMA_A_REGS = 64    /* A in registers (set by __nvemu_wgmma_rs) */
};
void __nvemu_wgmma(int32_t flags, int32_t n, uint64_t desc_a, uint64_t desc_b,
                   const float *in, float *out);
/* The same with A in registers: `a` is the thread's four 32-bit registers
 * of the m64k16 A fragment (two 16-bit elements each, low half first). */
void __nvemu_wgmma_rs(int32_t flags, int32_t n, const uint32_t *a,
                      uint64_t desc_b, const float *in, float *out);
void __nvemu_wgmma_commit(void);
void __nvemu_wgmma_wait(int32_t n);

/* mbarrier objects (shared memory); tx counts in bytes. */
void __nvemu_mbarrier_init(void *bar, int32_t count);
void __nvemu_mbarrier_arrive(void *bar, int32_t count, int32_t expect_tx);
void __nvemu_mbarrier_wait_parity(void *bar, int32_t parity);
/* cp.async.bulk.tensor.Nd.shared::cluster.global.tile.mbarrier::complete_tx */
void __nvemu_tma_load(void *dst, const void *tensor_map, void *bar,
                      int32_t rank, int32_t c0, int32_t c1, int32_t c2,
                      int32_t c3, int32_t c4);

/* What the emulating driver's cuTensorMapEncodeTiled writes into the 128
 * opaque bytes of a CUtensorMap (dimension 0 innermost). */
typedef struct {
  uint32_t magic; /* NVEMU_TENSOR_MAP_MAGIC */
  uint32_t rank, element_bytes, swizzle_bytes; /* swizzle: 0, 32, 64, 128 */
  uint64_t address;
  uint64_t dims[5];
  uint64_t strides[5]; /* bytes; strides[0] = element_bytes */
  uint32_t box[5];
} nvemu_tensor_map;
#define NVEMU_TENSOR_MAP_MAGIC 0x4e56544du

/* AMD (wave64). Work-item / work-group ids are __nvemu_sreg's TID / CTAID
 * codes, s_barrier is __nvemu_barrier(0, -1) and the LDS base is
 * __nvemu_dynamic_smem(). */
/* v_mbcnt_lo (high = 0) / v_mbcnt_hi (high = 1) */
int32_t __amdemu_mbcnt(int32_t high, int32_t mask, int32_t init);
/* ds_bpermute_b32 (address in bytes) and ds_swizzle_b32 */
int32_t __amdemu_bpermute(int32_t address, int32_t data);
int32_t __amdemu_swizzle(int32_t data, int32_t pattern);
/* v_exp_f32 (subnormal results flush to zero) */
float __amdemu_exp2(float x);
/* The MFMAs, c / d the lane's 4 accumulators. kind 0 / 1:
 * v_mfma_f32_16x16x16{f16,bf16_1k}, a, b the lane's 4 16-bit elements
 * (element i in bits 16 i..16 i + 15); kind 2: v_mfma_f32_16x16x4_f32, a, b
 * the lane's f32 element in the low 32 bits. */
enum { AMDEMU_MFMA_F16 = 0, AMDEMU_MFMA_BF16 = 1, AMDEMU_MFMA_F32 = 2 };
void __amdemu_mfma(int32_t kind, int64_t a, int64_t b, const float *c,
                   float *d);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_NVEMU_H */
