// RUN: attention-opt %s --split-input-file --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true pingpong=true" --verify-diagnostics

// Without overlap there is nothing to take turns on.
func.func @no_overlap(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{pingpong schedules the overlapped kernel's products and needs overlap}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}
