// RUN: attention-opt %s --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true pingpong=true" --verify-diagnostics

// One math warpgroup has nobody to alternate with.
func.func @one_warpgroup(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{pingpong alternates math warpgroups and needs at least two (warps >= 8)}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}
