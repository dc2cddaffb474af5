// REQUIRES: amdgpu-lld
// HSACO for gfx90a and gfx942 built with LLVM's AMDGPU backend and lld (no
// ROCm): MFMA instructions, no scratch, no spills, resources in the manifest.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=gfx90a,gfx942" --emit-dir=%t | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --input-file=%t/gqa_amd.json
// RUN: llvm-readelf -h %t/gqa_amd.gfx942.hsaco | FileCheck %s --check-prefix=ELF
// RUN: llvm-objdump -d --mcpu=gfx942 %t/gqa_amd.gfx942.hsaco | FileCheck %s --check-prefix=ISA942
// RUN: llvm-objdump -d --mcpu=gfx90a %t/gqa_amd.gfx90a.hsaco | FileCheck %s --check-prefix=ISA90A

// K (64 x 64 bf16) and V^T (64 x (64 + 4) bf16) tiles are staged in LDS:
// 16.5 KiB.
// REPORT: attn-compile: @gqa_amd gfx90a hsaco registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes=16896 kernel=mfma tile=64x64x4x1 occupancy={{[1-8]}} waves/SIMD
// REPORT: attn-compile: @gqa_amd gfx942 hsaco registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes=16896 kernel=mfma tile=64x64x4x1 occupancy={{[1-8]}} waves/SIMD
// CHECK: "target": "gfx90a",
// CHECK-NEXT: "format": "hsaco",
// CHECK: "grid": ["ceil(Sq/64)", "8", "B"],
// CHECK-NEXT: "block": [256, 1, 1],
// CHECK: "scratch_bytes": 0
// CHECK: "target": "gfx942",
// CHECK: "scratch_bytes": 0
// ELF: EM_AMDGPU
// ISA942: ds_write_b64
// ISA942: s_barrier
// ISA942: ds_read
// ISA942: v_mfma_f32_16x16x16{{_?}}bf16
// ISA942-NOT: s_swappc
// ISA90A: v_mfma_f32_16x16x16bf16_1k

func.func @gqa_amd(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> (tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>) {
  %o, %l = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
  return %o, %l : tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
}
