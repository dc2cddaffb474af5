// REQUIRES: amdgpu-lld
// A bf16 linear-attention kernel in an AMD bundle: its chunk products are
// MFMA 16x16x16 bf16 instructions in the HSACO, the operands that lie k-major
// in LDS come in 8-byte reads, and nothing spills to scratch.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=gfx942" --emit-dir=%t | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=MANIFEST --input-file=%t/lin.json
// RUN: llvm-objdump -d --mcpu=gfx942 %t/lin.gfx942.hsaco | FileCheck %s --check-prefix=ISA
// REPORT: attn-compile: @lin gfx942 hsaco {{.*}} spill_bytes=0 scratch_bytes=0 {{.*}} kernel=mfma-linear tile=64x16x2x1
// MANIFEST: "kernel": "mfma-linear",
// ISA: ds_read{{2?}}_b64
// ISA: v_mfma_f32_16x16x16{{_?}}bf16
// ISA-NOT: scratch_store

func.func @lin(%q: tensor<1x2x64x64xbf16>, %s: tensor<1x2x64x65xf32>) -> (tensor<1x2x64x64xbf16>, tensor<1x2x64x65xf32>) {
  %o, %st = attn.linear_attention %q, %q, %q state(%s : tensor<1x2x64x65xf32>) {causal, normalize, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>} : tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16>, tensor<1x2x64x64xbf16> -> tensor<1x2x64x64xbf16>, tensor<1x2x64x65xf32>
  return %o, %st : tensor<1x2x64x64xbf16>, tensor<1x2x64x65xf32>
}
