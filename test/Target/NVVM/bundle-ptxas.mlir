// REQUIRES: ptxas
// The example compiles for sm_80 and sm_90 through ptxas with no spills, and
// the bundle has the PTX, the cubin, the CPU object, a manifest and a header.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80,sm_90,cpu" --emit-dir=%t
// RUN: FileCheck %s --input-file=%t/gqa_bf16.json
// RUN: ls %t | FileCheck %s --check-prefix=FILES
// RUN: grep -c "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32" %t/gqa_bf16.sm_90.ptx | FileCheck %s --check-prefix=MMA
// RUN: not grep -q "\.extern" %t/gqa_bf16.sm_80.ptx
// K/V staging: 16-byte-aligned dynamic shared memory filled by cp.async,
// read by ldmatrix (plain for K, .trans for V).
// RUN: FileCheck %s --check-prefix=SMEM --input-file=%t/gqa_bf16.sm_80.ptx
// SMEM: .shared .align 16 .b8 __dynamic_shmem__0
// SMEM: cp.async.cg.shared.global [{{.+}}], [{{.+}}], 16;
// SMEM: cp.async.commit_group;
// SMEM: cp.async.wait_group 1;
// SMEM: bar.sync 0;
// SMEM: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// SMEM: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// SMEM: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16

// CHECK: "target": "sm_80",
// CHECK: "target": "sm_80",
// CHECK-NEXT: "format": "cubin",
// CHECK: "grid": ["ceil(Sq/128)", "8", "B"],
// CHECK-NEXT: "block": [256, 1, 1],
// CHECK-NEXT: "dynamic_smem_bytes": 36864,
// CHECK: "spill_bytes": 0,
// CHECK: "target": "sm_90",
// CHECK: "target": "sm_90",
// CHECK-NEXT: "format": "cubin",
// CHECK: "spill_bytes": 0,
// CHECK: "target": "cpu",
// CHECK: "entry": "_mlir_ciface_gqa_bf16",
// FILES: gqa_bf16.cpu.so
// FILES: gqa_bf16.h
// FILES: gqa_bf16.json
// FILES: gqa_bf16.sm_80.cubin
// FILES: gqa_bf16.sm_80.ptx
// FILES: gqa_bf16.sm_90.cubin
// FILES: gqa_bf16.sm_90.ptx
// MMA: {{[1-9][0-9]*}}

func.func @gqa_bf16(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> (tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>) {
  %o, %l = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
  return %o, %l : tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
}
