// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=cpu | FileCheck %s --check-prefix=CPU
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90 | FileCheck %s --check-prefix=SM90
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=gfx942 | FileCheck %s --check-prefix=GFX942
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a | FileCheck %s --check-prefix=SM90A
// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_86 | FileCheck %s --check-prefix=SM86

// CPU-LABEL: func.func @prefill
// CPU: schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>
// SM90-LABEL: func.func @prefill
// SM90: schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>
// GFX942-LABEL: func.func @prefill
// GFX942: schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>
func.func @prefill(%q: tensor<4x16x2048x128xbf16>) -> tensor<4x16x2048x128xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<4x16x2048x128xbf16>, tensor<4x16x2048x128xbf16>, tensor<4x16x2048x128xbf16> -> tensor<4x16x2048x128xbf16>
  return %o : tensor<4x16x2048x128xbf16>
}

// -----

// sm_90a (wgmma: Q in shared memory; S, P and O in registers) takes KV
// tiles twice as wide as sm_90's mma.sync: 128 x 64 at head dim 128, and
// 128 x 128 at head dim 64.
// SM90A-LABEL: func.func @wgmma_hd128
// SM90A-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
// SM90A-LABEL: func.func @wgmma_hd64
// SM90A-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 128, warps = 8, stages = 2>
func.func @wgmma_hd128(%q: tensor<1x16x2048x128xbf16>) -> tensor<1x16x2048x128xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x2048x128xbf16>, tensor<1x16x2048x128xbf16>, tensor<1x16x2048x128xbf16> -> tensor<1x16x2048x128xbf16>
  return %o : tensor<1x16x2048x128xbf16>
}
func.func @wgmma_hd64(%q: tensor<1x16x2048x64xbf16>) -> tensor<1x16x2048x64xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x2048x64xbf16>, tensor<1x16x2048x64xbf16>, tensor<1x16x2048x64xbf16> -> tensor<1x16x2048x64xbf16>
  return %o : tensor<1x16x2048x64xbf16>
}

// -----

// Head dim 256 on mma.sync: the staged Q tile (128 x 264 x 2 bytes) leaves
// registers for 32 KV columns, where the target's shared memory holds it
// with the stages (118784 bytes: sm_90, not sm_86's 101376).
// SM90-LABEL: func.func @hd256
// SM90-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>
// SM86-LABEL: func.func @hd256
// SM86-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 16, warps = 8, stages = 2>
func.func @hd256(%q: tensor<1x16x2048x256xbf16>) -> tensor<1x16x2048x256xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x2048x256xbf16>, tensor<1x16x2048x256xbf16>, tensor<1x16x2048x256xbf16> -> tensor<1x16x2048x256xbf16>
  return %o : tensor<1x16x2048x256xbf16>
}

// -----

// Decode: 8 query heads x 1 tile leave most of 132 SMs (304 CUs) idle, so
// the GPU schedules spread the KV work over every SM / CU (stream-K); the
// CPU keeps flash.
// CPU-LABEL: func.func @decode
// CPU-NEXT: schedule = #attn.schedule<flash>
// SM90-LABEL: func.func @decode
// SM90-NEXT: schedule = #attn.schedule<stream_k(132)>
// GFX942-LABEL: func.func @decode
// GFX942-NEXT: schedule = #attn.schedule<stream_k(304)>
func.func @decode(%q: tensor<1x8x1x128xf16>, %k: tensor<1x8x8192x128xf16>) -> tensor<1x8x1x128xf16> {
  %o = attn.attention %q, %k, %k : tensor<1x8x1x128xf16>, tensor<1x8x8192x128xf16>, tensor<1x8x8192x128xf16> -> tensor<1x8x1x128xf16>
  return %o : tensor<1x8x1x128xf16>
}

// -----

// f32 runs the SIMT kernel; under a KV-splitting schedule (picked or given)
// its KV tile is 16 columns, not 32 (the share's publish and merge need the
// registers).
// SM90-LABEL: func.func @decode_f32
// SM90-NEXT: schedule = #attn.schedule<stream_k(132)>
// SM90-SAME: tiling = #attn.tiling<block_q = 128, block_kv = 16, warps = 4, stages = 2>
// SM90-LABEL: func.func @split_f32
// SM90-NEXT: schedule = #attn.schedule<split_kv(4)>
// SM90-SAME: tiling = #attn.tiling<block_q = 128, block_kv = 16, warps = 4, stages = 2>
// SM90-LABEL: func.func @flash_f32
// SM90-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 4, stages = 2>
func.func @decode_f32(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x8192x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k : tensor<1x8x1x64xf32>, tensor<1x8x8192x64xf32>, tensor<1x8x8192x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
func.func @split_f32(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x8192x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<split_kv(4)>} : tensor<1x8x1x64xf32>, tensor<1x8x8192x64xf32>, tensor<1x8x8192x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}
func.func @flash_f32(%q: tensor<1x8x1x64xf32>, %k: tensor<1x8x8192x64xf32>) -> tensor<1x8x1x64xf32> {
  %o = attn.attention %q, %k, %k {schedule = #attn.schedule<flash>} : tensor<1x8x1x64xf32>, tensor<1x8x8192x64xf32>, tensor<1x8x8192x64xf32> -> tensor<1x8x1x64xf32>
  return %o : tensor<1x8x1x64xf32>
}

// -----

// A short KV (8 heads x 4 decode tiles of 64 < 2 x 132) would give most
// SMs one KV tile or none: flash.
// SM90-LABEL: func.func @short_decode
// SM90-NEXT: schedule = #attn.schedule<flash>
// GFX942-LABEL: func.func @short_decode
// GFX942-NEXT: schedule = #attn.schedule<flash>
func.func @short_decode(%q: tensor<1x8x1x128xf16>, %k: tensor<1x8x256x128xf16>) -> tensor<1x8x1x128xf16> {
  %o = attn.attention %q, %k, %k : tensor<1x8x1x128xf16>, tensor<1x8x256x128xf16>, tensor<1x8x256x128xf16> -> tensor<1x8x1x128xf16>
  return %o : tensor<1x8x1x128xf16>
}

// -----

// Prefill with few heads has fewer query tiles than SMs too, but its causal
// tiles split unevenly by KV-tile count: flash.
// SM90-LABEL: func.func @small_prefill
// SM90-NEXT: schedule = #attn.schedule<flash>
func.func @small_prefill(%q: tensor<1x8x512x64xbf16>, %k: tensor<1x2x512x64xbf16>) -> tensor<1x8x512x64xbf16> {
  %o = attn.attention %q, %k, %k {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>
  return %o : tensor<1x8x512x64xbf16>
}

// -----

// A head dim of 16 k + 8 (SigLIP's 72): the wgmma kernel rounds its
// k-steps over Dqk up to 80 (the columns past 72 are zero), so sm_90a keeps
// wgmma's 128 x 64 tiles.
// SM90A-LABEL: func.func @hd72
// SM90A-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>
func.func @hd72(%q: tensor<1x16x729x72xbf16>) -> tensor<1x16x729x72xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x729x72xbf16>, tensor<1x16x729x72xbf16>, tensor<1x16x729x72xbf16> -> tensor<1x16x729x72xbf16>
  return %o : tensor<1x16x729x72xbf16>
}

// -----

// A head dim of 8 k + 4 has rows of 8 k + 4 elements, not a multiple of
// 16 bytes (TMA's and the wgmma kernel's copies need it): sm_90a takes the
// mma.sync kernel and sm_90's tiles.
// SM90A-LABEL: func.func @hd100
// SM90A-NEXT: tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>
func.func @hd100(%q: tensor<1x16x729x100xbf16>) -> tensor<1x16x729x100xbf16> {
  %o = attn.attention %q, %q, %q : tensor<1x16x729x100xbf16>, tensor<1x16x729x100xbf16>, tensor<1x16x729x100xbf16> -> tensor<1x16x729x100xbf16>
  return %o : tensor<1x16x729x100xbf16>
}

// -----

// A user tiling is kept as given.
// CPU-LABEL: func.func @user_tiling
// CPU: tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 3>
// SM90-LABEL: func.func @user_tiling
// SM90: tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 3>
// GFX942-LABEL: func.func @user_tiling
// GFX942: tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 3>
func.func @user_tiling(%q: tensor<1x8x512x64xf16>) -> tensor<1x8x512x64xf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 3>} : tensor<1x8x512x64xf16>, tensor<1x8x512x64xf16>, tensor<1x8x512x64xf16> -> tensor<1x8x512x64xf16>
  return %o : tensor<1x8x512x64xf16>
}

// -----

// GPU linear attention, one batch entry of 4 heads: 4 blocks per 64-column
// chunk would leave the SMs idle, so each block takes 16 value columns
// (block_kv; 16 blocks), the least it narrows to; with the state 64 x 17
// the largest chunk that fits is 64 rows (62976 bytes), on four warps or
// two wave64s. Its 16 blocks still leave the GPU idle, so the sequence's
// 16 chunks go to 4 segments (split_kv(4): at least 4 chunks a segment);
// the CPU walks each sequence whole (no schedule).
// CPU-LABEL: func.func @linear_few_heads
// CPU-NOT: schedule
// CPU: tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 1, stages = 1>
// SM90-LABEL: func.func @linear_few_heads
// SM90: schedule = #attn.schedule<split_kv(4)>, tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 1>
// GFX942-LABEL: func.func @linear_few_heads
// GFX942: schedule = #attn.schedule<split_kv(4)>, tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 2, stages = 1>
func.func @linear_few_heads(%q: tensor<1x4x1024x64xbf16>) -> tensor<1x4x1024x64xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16>, tensor<1x4x1024x64xbf16> -> tensor<1x4x1024x64xbf16>
  return %o : tensor<1x4x1024x64xbf16>
}

// -----

// 256 (batch, head) blocks fill 132 SMs with whole 64-column chunks (state
// 64 x 65); 304 CUs want 32 columns. bf16 operands are staged as bf16 for
// the tensor cores: a 64 x 33 state with 64-row buffers takes 58880 bytes,
// within LDS, so the chunk is 64 rows on AMD too.
// SM90-LABEL: func.func @linear_many_heads
// SM90: schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 1>
// GFX942-LABEL: func.func @linear_many_heads
// GFX942: tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 2, stages = 1>
func.func @linear_many_heads(%q: tensor<4x64x256x64xbf16>) -> tensor<4x64x256x64xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<4x64x256x64xbf16>, tensor<4x64x256x64xbf16>, tensor<4x64x256x64xbf16> -> tensor<4x64x256x64xbf16>
  return %o : tensor<4x64x256x64xbf16>
}

// -----

// block_kv is a power of two: Dv = 3 takes 4 (the block uses 3).
// SM90-LABEL: func.func @linear_odd_dv
// SM90: tiling = #attn.tiling<block_q = 64, block_kv = 4, warps = 4, stages = 1>
// GFX942-LABEL: func.func @linear_odd_dv
// GFX942: tiling = #attn.tiling<block_q = 64, block_kv = 4, warps = 2, stages = 1>
func.func @linear_odd_dv(%q: tensor<1x2x9x4xf32>, %v: tensor<1x2x9x3xf32>) -> tensor<1x2x9x3xf32> {
  %o = attn.linear_attention %q, %q, %v {causal} : tensor<1x2x9x4xf32>, tensor<1x2x9x4xf32>, tensor<1x2x9x3xf32> -> tensor<1x2x9x3xf32>
  return %o : tensor<1x2x9x3xf32>
}

// -----

// One head of 8192 rows: 4 blocks of 16 columns, 128 chunks. The segments
// stop at 16 (they hand their states on one after another), not at the
// 33 that would fill 132 SMs.
// SM90-LABEL: func.func @linear_long_sequence
// SM90: schedule = #attn.schedule<split_kv(16)>, tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 1>
func.func @linear_long_sequence(%q: tensor<1x1x8192x64xbf16>) -> tensor<1x1x8192x64xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal} : tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16> -> tensor<1x1x8192x64xbf16>
  return %o : tensor<1x1x8192x64xbf16>
}

// -----

// Four heads of 16k rows, Dv = 128: splitting the sequence repeats only a
// state pass over k and v, narrowing the columns repeats every q and k
// load and the scores, so the columns narrow only while the segments
// leave SMs idle too: 64 columns give 8 streams x 16 segments = 128 of 132
// SMs, 32 columns 16 x 9. On gfx942 the wider state would shorten the
// chunk (64 KiB of LDS), so the columns narrow first there.
// SM90-LABEL: func.func @linear_split_before_narrowing
// SM90: schedule = #attn.schedule<split_kv(9)>, tiling = #attn.tiling<block_q = 64, block_kv = 32, warps = 4, stages = 1>
// GFX942-LABEL: func.func @linear_split_before_narrowing
// GFX942: schedule = #attn.schedule<split_kv(10)>, tiling = #attn.tiling<block_q = 32, block_kv = 16, warps = 2, stages = 1>
func.func @linear_split_before_narrowing(%q: tensor<1x4x16384x128xbf16>) -> tensor<1x4x16384x128xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal, normalize, feature = #attn.feature_map<elu1>} : tensor<1x4x16384x128xbf16>, tensor<1x4x16384x128xbf16>, tensor<1x4x16384x128xbf16> -> tensor<1x4x16384x128xbf16>
  return %o : tensor<1x4x16384x128xbf16>
}

// -----

// Non-causal, every segment needs the whole sequence's state: the split
// is the same, each segment publishing its rows' state and summing all.
// SM90-LABEL: func.func @linear_non_causal_split
// SM90: schedule = #attn.schedule<split_kv(16)>, tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 1>
func.func @linear_non_causal_split(%q: tensor<1x1x8192x64xbf16>) -> tensor<1x1x8192x64xbf16> {
  %o = attn.linear_attention %q, %q, %q : tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16> -> tensor<1x1x8192x64xbf16>
  return %o : tensor<1x1x8192x64xbf16>
}

// -----

// A given schedule stays, given tiling or not.
// SM90-LABEL: func.func @linear_given_schedule
// SM90: schedule = #attn.schedule<split_kv(3)>, tiling = #attn.tiling<block_q = 32, block_kv = 16, warps = 4, stages = 1>
// SM90-LABEL: func.func @linear_given_flash
// SM90: schedule = #attn.schedule<flash>, tiling = #attn.tiling<block_q = 64, block_kv = 16, warps = 4, stages = 1>
func.func @linear_given_schedule(%q: tensor<1x1x8192x64xbf16>) -> tensor<1x1x8192x64xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal, schedule = #attn.schedule<split_kv(3)>, tiling = #attn.tiling<block_q = 32, block_kv = 16, warps = 4, stages = 1>} : tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16> -> tensor<1x1x8192x64xbf16>
  return %o : tensor<1x1x8192x64xbf16>
}
func.func @linear_given_flash(%q: tensor<1x1x8192x64xbf16>) -> tensor<1x1x8192x64xbf16> {
  %o = attn.linear_attention %q, %q, %q {causal, schedule = #attn.schedule<flash>} : tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16>, tensor<1x1x8192x64xbf16> -> tensor<1x1x8192x64xbf16>
  return %o : tensor<1x1x8192x64xbf16>
}
