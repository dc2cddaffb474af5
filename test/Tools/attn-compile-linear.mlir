// A linear-attention bundle for the CPU: the state operands in the manifest
// (f32, [B, H, F, Dv + 1] with norm=sum), one work item per (batch, head),
// the feature dimension among the constants, and the header's typed fields.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=cpu" --emit-dir=%t
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/lin.json
// RUN: FileCheck %s --check-prefix=HEADER --input-file=%t/lin.h
// The GPU bundles: one block per (batch, head, column chunk) of the linear
// kernel, its shared memory dynamic on NVIDIA (ptxas-checked, no spills) and
// static LDS on AMD. f16 takes the chunk products on tensor cores with
// operands split into bf16 hi + lo, read from the f32 buffers.
// RUN: attention-opt %s --attn-compile="target=sm_80" --emit-dir=%t/nv 2>&1 | FileCheck %s --check-prefix=NVLOG
// RUN: FileCheck %s --check-prefix=NV --input-file=%t/nv/lin.json
// RUN: attention-opt %s --attn-compile="target=gfx942" --emit-dir=%t/amd 2>&1 | FileCheck %s --check-prefix=AMDLOG
// RUN: FileCheck %s --check-prefix=AMD --input-file=%t/amd/lin.json
// bf16 inputs take them on the same tiles with operands staged as bf16,
// mma.sync on NVIDIA and MFMA on CDNA, still without spills or scratch.
// RUN: attention-opt --gen="name=linbf kind=linear heads=2 seq=64 dim=16:8 dtype=bf16 mask=causal feature=elu1 decay=alibi norm=sum state=inout" | attention-opt --attn-compile="target=sm_80" --emit-dir=%t/bf 2>&1 | FileCheck %s --check-prefix=BFLOG
// RUN: FileCheck %s --check-prefix=BF --input-file=%t/bf/linbf.json
// RUN: attention-opt --gen="name=linbf kind=linear heads=2 seq=64 dim=16:8 dtype=bf16 mask=causal feature=elu1 decay=alibi norm=sum state=inout" | attention-opt --attn-compile="target=gfx942" --emit-dir=%t/bfamd 2>&1 | FileCheck %s --check-prefix=BFAMDLOG
// RUN: FileCheck %s --check-prefix=BFAMD --input-file=%t/bfamd/linbf.json
// split_kv(3): the CPU's work items are B x 2 heads x 3 segments; the
// GPU grid x is 1 column chunk x 3 segments, and the launch
// carries a workspace per batch entry of 2 heads x 1 column chunk streams:
// a counter and 2 flags each (24 bytes, zeroed), then 2 handed-over states
// of 32 x 17 f32 (2 x 2 x 544 words): 8728 bytes.
// RUN: attention-opt --gen="name=linseg kind=linear heads=2 seq=300 dim=32:16 dtype=bf16 mask=causal feature=elu1 decay=alibi norm=sum state=inout schedule=split_kv:3" | attention-opt --attn-compile="target=cpu,sm_80,gfx942" --emit-dir=%t/seg
// RUN: FileCheck %s --check-prefix=SEG --input-file=%t/seg/linseg.json
// Its flags: a system-scope release (fence.acq_rel.sys; AMD's L2
// write-back) before the atomic add that raises a flag, an acquire
// (AMD's cache invalidate) after the spin on one.
// RUN: FileCheck %s --check-prefix=SEGPTX --input-file=%t/seg/linseg.sm_80.ptx
// RUN: llvm-objdump -d --mcpu=gfx942 %t/seg/linseg.gfx942.hsaco | FileCheck %s --check-prefix=SEGISA

// MANIFEST: "constants": {"Hq": 2, "Hk": 2, "Hv": 2, "Dqk": 16, "Dv": 8, "F": 16}
// MANIFEST: {"name": "q", "dtype": "f16", "shape": ["B", "2", "Sq", "16"]}
// MANIFEST-NEXT: {"name": "k", "dtype": "f16", "shape": ["B", "2", "Sq", "16"]}
// MANIFEST-NEXT: {"name": "v", "dtype": "f16", "shape": ["B", "2", "Sq", "8"]}
// MANIFEST-NEXT: {"name": "state_in", "dtype": "f32", "shape": ["B", "2", "16", "9"]}
// MANIFEST-NEXT: {"name": "o", "dtype": "f16", "shape": ["B", "2", "Sq", "8"], "output": true}
// MANIFEST-NEXT: {"name": "state_out", "dtype": "f32", "shape": ["B", "2", "16", "9"], "output": true}
// MANIFEST: "work_items": "B*2"
// HEADER: const void *state_in;
// HEADER: void *state_out;
// NVLOG: attn-compile: @lin sm_80 cubin registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes={{[0-9]+}} kernel=mma.sync-linear tile=64x8x4x1
// NV: "param_abi": "flat-memref",
// NV-NEXT: "grid": ["1", "2", "B"],
// NV-NEXT: "block": [128, 1, 1],
// NV-NEXT: "dynamic_smem_bytes": 30528,
// NV: "kernel": "mma.sync-linear",
// NV-NEXT: "tile": [64, 8, 4, 1]
// AMDLOG: attn-compile: @lin gfx942 hsaco registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes=30528 kernel=mfma-linear tile=64x8x2x1
// BFLOG: attn-compile: @linbf sm_80 cubin registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes={{[0-9]+}} kernel=mma.sync-linear tile=64x8x4x1
// BF: "kernel": "mma.sync-linear",
// BFAMDLOG: attn-compile: @linbf gfx942 hsaco registers={{[0-9]+}} spill_bytes=0 scratch_bytes=0 smem_bytes={{[0-9]+}} kernel=mfma-linear tile=64x8x2x1
// BFAMD: "kernel": "mfma-linear",
// AMD: "grid": ["1", "2", "B"],
// AMD-NEXT: "block": [128, 1, 1],

func.func @lin(%q: tensor<1x2x64x16xf16>, %v: tensor<1x2x64x8xf16>, %s: tensor<1x2x16x9xf32>) -> (tensor<1x2x64x8xf16>, tensor<1x2x16x9xf32>) {
  %o, %st = attn.linear_attention %q, %q, %v state(%s : tensor<1x2x16x9xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x2x64x16xf16>, tensor<1x2x64x16xf16>, tensor<1x2x64x8xf16> -> tensor<1x2x64x8xf16>, tensor<1x2x16x9xf32>
  return %o, %st : tensor<1x2x64x8xf16>, tensor<1x2x16x9xf32>
}

// SEG: "target": "cpu"
// SEG: "work_items": "B*6",
// SEG-NEXT: "workspace_bytes": "B*8728",
// SEG-NEXT: "workspace_zero_bytes": "B*24"
// SEG: "target": "sm_80"
// SEG: "grid": ["3", "2", "B"],
// SEG: "workspace_bytes": "B*8728",
// SEG-NEXT: "workspace_zero_bytes": "B*24"
// SEG: "target": "gfx942"
// SEG: "grid": ["3", "2", "B"],
// SEG: "workspace_bytes": "B*8728",
// SEG-NEXT: "workspace_zero_bytes": "B*24"
// SEGPTX: atom.global.add.f32 {{.*}}, 0f3F800000;
// SEGPTX: fence.acq_rel.sys;
// SEGPTX: atom.global.add.f32 {{.*}}, 0f3F800000;
// SEGPTX: atom.global.add.f32 {{.*}}, 0f00000000;
// SEGPTX: fence.acq_rel.sys;
// SEGISA: buffer_wbl2 sc0 sc1
// SEGISA: global_atomic_cmpswap
// SEGISA: buffer_inv sc0 sc1
