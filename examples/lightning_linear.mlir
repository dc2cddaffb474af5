// Lightning-style causal linear attention: elu+1 features, ALiBi decay per head,
// normalized, with the recurrent state in and out (prefill and decode share the op). bf16.
// Made with: attention-opt --gen="name=lightning batch=1 heads=8 seq=1024 dim=64 dtype=bf16 mask=causal kind=linear feature=elu1 decay=alibi norm=sum state=inout"
module {
  func.func @lightning(%arg0: tensor<1x8x1024x64xbf16>, %arg1: tensor<1x8x1024x64xbf16>, %arg2: tensor<1x8x1024x64xbf16>, %arg3: tensor<1x8x64x65xf32>) -> (tensor<1x8x1024x64xbf16>, tensor<1x8x64x65xf32>) {
    %output, %state_out = attn.linear_attention %arg0, %arg1, %arg2 state(%arg3 : tensor<1x8x64x65xf32>) {causal, decay = #attn.decay<alibi>, feature = #attn.feature_map<elu1>, normalize} : tensor<1x8x1024x64xbf16>, tensor<1x8x1024x64xbf16>, tensor<1x8x1024x64xbf16> -> tensor<1x8x1024x64xbf16>, tensor<1x8x64x65xf32>
    return %output, %state_out : tensor<1x8x1024x64xbf16>, tensor<1x8x64x65xf32>
  }
}

