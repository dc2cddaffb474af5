// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 --verify-diagnostics
// RUN: not attention-opt %s --attn-select-schedule=target=sm_42 2>&1 | FileCheck %s --check-prefix=UNKNOWN

// RUN: not attention-opt %s --attn-select-schedule="target=gfx942 family=nvvm" 2>&1 | FileCheck %s --check-prefix=FAMILY
// RUN: not attention-opt %s --attn-select-schedule="target=sm_90 family=gpu" 2>&1 | FileCheck %s --check-prefix=NOFAMILY
// The named pipelines take chips of their own family only.
// RUN: not attention-opt %s --attn-to-nvvm=chip=gfx942 2>&1 | FileCheck %s --check-prefix=NVVM
// RUN: not attention-opt %s --attn-to-rocdl=chip=sm_90 2>&1 | FileCheck %s --check-prefix=ROCDL

// UNKNOWN: error: unknown target 'sm_42' (known: cpu, sm_80, sm_86, sm_89, sm_90, sm_90a, gfx90a, gfx942)
// FAMILY: attn-select-schedule-invalid.mlir:{{[0-9]+}}:{{[0-9]+}}: error: target 'gfx942' is not an NVIDIA chip (expected sm_80, sm_86, sm_89, sm_90, sm_90a)
// NOFAMILY: error: unknown target family 'gpu' (expected cpu, nvvm or rocdl)
// NVVM: error: target 'gfx942' is not an NVIDIA chip
// ROCDL: error: target 'sm_90' is not an AMD chip (expected gfx90a, gfx942)
// ROCDL-NOT: Invalid chipset

// A tile whose staged K/V exceed the 64 KiB of LDS cannot be placed.
func.func @too_big(%q: tensor<1x8x512x256xf16>) -> tensor<1x8x512x256xf16> {
  // expected-error @+1 {{needs 270336 bytes of shared memory but gfx942 offers 65536}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 128, warps = 4, stages = 2>} : tensor<1x8x512x256xf16>, tensor<1x8x512x256xf16>, tensor<1x8x512x256xf16> -> tensor<1x8x512x256xf16>
  return %o : tensor<1x8x512x256xf16>
}

// -----

// Tensor-core fragments are 16x16 at least.
func.func @too_small(%q: tensor<1x8x512x64xf16>) -> tensor<1x8x512x64xf16> {
  // expected-error @+1 {{is below the 16x16 tensor-core fragment of gfx942}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 8, block_kv = 16, warps = 4, stages = 1>} : tensor<1x8x512x64xf16>, tensor<1x8x512x64xf16>, tensor<1x8x512x64xf16> -> tensor<1x8x512x64xf16>
  return %o : tensor<1x8x512x64xf16>
}

// -----

// Head dims so large that even the cost model's smallest K/V stages do not
// fit: refused before any kernel is built.
func.func @no_tiling_fits(%q: tensor<1x2x64x8192xf16>) -> tensor<1x2x64x8192xf16> {
  // expected-error @+1 {{no tiling fits head dims Dqk = 8192, Dv = 8192 on gfx942: the smallest K/V stages need}}
  %o = attn.attention %q, %q, %q : tensor<1x2x64x8192xf16>, tensor<1x2x64x8192xf16>, tensor<1x2x64x8192xf16> -> tensor<1x2x64x8192xf16>
  return %o : tensor<1x2x64x8192xf16>
}

// -----

// A given chunk whose state and chunk buffers exceed LDS.
func.func @linear_chunk_too_big(%q: tensor<1x2x128x64xf16>) -> tensor<1x2x128x64xf16> {
  // expected-error @+1 {{tiling #attn.tiling<block_q = 64, block_kv = 64, warps = 2, stages = 1> needs 99840 bytes of shared memory (state 64 x 65 and chunk buffers) but gfx942 offers 65536}}
  %o = attn.linear_attention %q, %q, %q {causal, normalize, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 2, stages = 1>} : tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return %o : tensor<1x2x128x64xf16>
}

// -----

// taylor2 of 32-dim keys has F = 1 + 32 + 1024 = 1057 features: even at the
// narrowest 16 value columns the state alone is 67648 bytes, over LDS.
func.func @linear_state_too_big(%q: tensor<1x2x128x32xf16>, %v: tensor<1x2x128x64xf16>) -> tensor<1x2x128x64xf16> {
  // expected-error @+1 {{no chunk fits feature dim F = 1057 on gfx942: the state of 16 value columns and 16-row chunk buffers need 75008 bytes of shared memory but gfx942 offers 65536}}
  %o = attn.linear_attention %q, %q, %v {causal, feature = #attn.feature_map<taylor2>} : tensor<1x2x128x32xf16>, tensor<1x2x128x32xf16>, tensor<1x2x128x64xf16> -> tensor<1x2x128x64xf16>
  return %o : tensor<1x2x128x64xf16>
}
