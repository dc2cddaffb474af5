// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu=wgmma=true --verify-diagnostics

func.func @partial_warpgroup(%q: tensor<1x2x64x32xf16>) -> tensor<1x2x64x32xf16> {
  // expected-error @+1 {{the wgmma kernel needs whole warpgroups (warps % 4 == 0) and block_kv <= 256}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 32, block_kv = 32, warps = 2, stages = 2>} : tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16>, tensor<1x2x64x32xf16> -> tensor<1x2x64x32xf16>
  return %o : tensor<1x2x64x32xf16>
}
