// RUN: attention-opt %s --split-input-file --attn-expand-math --verify-diagnostics

// The approximations are for f32 (f16 / bf16 widen to it): an f64 tanh in
// an AMD kernel has no lowering without ocml.
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @f(%x: f64, %p: memref<?xf64>) kernel {
      // expected-error @+1 {{'math.tanh' has no lowering on AMD GPUs without ROCm's device library}}
      %a = math.tanh %x : f64
      %c0 = arith.constant 0 : index
      memref.store %a, %p[%c0] : memref<?xf64>
      gpu.return
    }
  }
}
