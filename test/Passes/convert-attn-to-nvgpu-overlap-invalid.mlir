// RUN: attention-opt %s --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true overlap=true" --verify-diagnostics

func.func @one_stage(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{the overlapped kernel keeps a stage for the pending P V product and needs stages >= 2}}
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 1>} : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}
