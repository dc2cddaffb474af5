// Grouped-query causal attention (8 query heads share 2 KV heads), bf16, with LSE.
// Made with: attention-opt --gen="name=gqa_causal batch=1 heads=gqa:8:2 seq=512 dim=64 dtype=bf16 mask=causal lse=1"
module {
  func.func @gqa_causal(%arg0: tensor<1x8x512x64xbf16>, %arg1: tensor<1x2x512x64xbf16>, %arg2: tensor<1x2x512x64xbf16>) -> (tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>) {
    %output, %lse = attn.attention %arg0, %arg1, %arg2 {heads = #attn.heads<gqa(8, 2)>, mask = #attn.mask<causal>} : tensor<1x8x512x64xbf16>, tensor<1x2x512x64xbf16>, tensor<1x2x512x64xbf16> -> tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
    return %output, %lse : tensor<1x8x512x64xbf16>, tensor<1x8x512xf32>
  }
}

