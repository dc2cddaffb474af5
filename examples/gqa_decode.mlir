// Llama-3-8B-style decode step: one query row for each of 32 query heads, which
// share 8 KV heads, over a 4096-token cache, bf16, with LSE. The NVIDIA and CPU
// schedules pack the 4 query heads of each KV head into one tile (pack_gqa), and
// the NVIDIA one spreads the KV work over the SMs (stream-K).
// Made with: attention-opt --gen="name=gqa_decode batch=2 heads=gqa:32:8 seq=1:4096 dim=128 dtype=bf16 lse=1"
module {
  func.func @gqa_decode(%arg0: tensor<2x32x1x128xbf16>, %arg1: tensor<2x8x4096x128xbf16>, %arg2: tensor<2x8x4096x128xbf16>) -> (tensor<2x32x1x128xbf16>, tensor<2x32x1xf32>) {
    %output, %lse = attn.attention %arg0, %arg1, %arg2 {heads = #attn.heads<gqa(32, 8)>} : tensor<2x32x1x128xbf16>, tensor<2x8x4096x128xbf16>, tensor<2x8x4096x128xbf16> -> tensor<2x32x1x128xbf16>, tensor<2x32x1xf32>
    return %output, %lse : tensor<2x32x1x128xbf16>, tensor<2x32x1xf32>
  }
}

