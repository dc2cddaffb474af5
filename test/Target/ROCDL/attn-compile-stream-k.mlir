// REQUIRES: amdgpu-lld
// A stream-K decode kernel in an AMD bundle: grid (workgroups, 1, 1), no
// scratch or spills, and the workspace the runtime allocates per launch:
// 304 arrival counters (the only zeroed part, 4 x 304 bytes), then two
// share slots per workgroup of (2 + 128 / 4) words for each thread of the
// waves with rows (16 rows a wave: decode needs one wave's 64 threads; the
// decode tile is one such row block on 4 KV waves, merged into wave 0
// before it publishes). The LDS: K 64 x 128 and V^T 128 x 68 bf16, and the
// merge's 2 slots x 64 lanes x 34 words of f32.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=gfx942" --emit-dir=%t | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/sk.json
// RUN: llvm-objdump -d --mcpu=gfx942 %t/sk.gfx942.hsaco | FileCheck %s --check-prefix=ISA
// REPORT: attn-compile: @sk gfx942 hsaco {{.*}} spill_bytes=0 scratch_bytes=0 smem_bytes=51200 kernel=mfma+stream-k tile=16x64x4x1
// MANIFEST: "target": "gfx942",
// MANIFEST: "grid": ["304", "1", "1"],
// MANIFEST: "kernel": "mfma+stream-k",
// MANIFEST: "workspace_bytes": "304*(4+2*8704*ceil(min(16,Sq)/16))",
// MANIFEST-NEXT: "workspace_zero_bytes": 1216
// The products, then the arrival count: an atomic add with return (a
// compare-and-swap loop at system scope), and the acquiring fence's cache
// invalidation before the shares are read back.
// ISA: v_mfma_f32_16x16x16{{_?}}bf16
// ISA: global_atomic_cmpswap
// ISA: buffer_inv sc0 sc1

func.func @sk(%q: tensor<1x8x1x128xbf16>, %k: tensor<1x8x8192x128xbf16>) -> (tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>) {
  %o, %l = attn.attention %q, %k, %k : tensor<1x8x1x128xbf16>, tensor<1x8x8192x128xbf16>, tensor<1x8x8192x128xbf16> -> tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>
  return %o, %l : tensor<1x8x1x128xbf16>, tensor<1x8x1xf32>
}
