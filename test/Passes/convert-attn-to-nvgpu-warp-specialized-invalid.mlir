// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_90a --convert-attn-to-nvgpu="wgmma=true tma=true warp-specialize=true producer-registers=20" --verify-diagnostics

func.func @too_few(%q: tensor<1x2x128x64xbf16>) -> tensor<1x2x128x64xbf16> {
  // expected-error @+1 {{producer-registers must be a multiple of 8 in [24, 256), got 20}}
  %o = attn.attention %q, %q, %q : tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16>, tensor<1x2x128x64xbf16> -> tensor<1x2x128x64xbf16>
  return %o : tensor<1x2x128x64xbf16>
}
