// RUN: attention-opt %s --split-input-file --attn-expand-math | FileCheck %s --check-prefix=ROCDL
// RUN: attention-opt %s --split-input-file --attn-expand-math=target=nvvm | FileCheck %s --check-prefix=NVVM
// RUN: attention-opt %s --split-input-file --attn-expand-math=target=cpu | FileCheck %s --check-prefix=CPU
// RUN: not attention-opt %s --attn-expand-math=target=ptx 2>&1 | FileCheck %s --check-prefix=BAD
// BAD: error: attn-expand-math: unknown target 'ptx' (rocdl, nvvm or cpu)

// target=rocdl: inside the gpu.module, what would call ocml (or has no AMDGPU
// lowering) becomes arithmetic: tanh and sin (f16 widened to f32) by
// polynomials, floor as -ceil(-x) with ceil expanded, log10 as log / ln 10,
// trunc through ceil / floor; exp and rsqrt stay (the backend lowers them).
// Host code is left alone.
// ROCDL-LABEL: gpu.func @f(
// ROCDL-NOT: math.tanh
// ROCDL-NOT: math.floor
// ROCDL-NOT: math.ceil
// ROCDL-NOT: math.sin
// ROCDL-NOT: math.trunc
// ROCDL-NOT: math.log10
// ROCDL: math.log %
// ROCDL: math.exp %
// ROCDL: math.rsqrt %
// ROCDL: gpu.return
// ROCDL-LABEL: func.func @host(
// ROCDL: math.tanh
// target=nvvm: libdevice covers everything but trunc.
// NVVM-LABEL: gpu.func @f(
// NVVM: math.tanh
// NVVM: math.floor
// NVVM: math.log10
// NVVM: math.exp
// NVVM: math.sin
// NVVM-NOT: math.trunc
// NVVM: math.ceil
// NVVM: math.floor
// NVVM: arith.select
// NVVM: math.rsqrt
// target=cpu: libm has no rsqrt, so 1 / sqrt, in host and device code alike.
// CPU-LABEL: gpu.func @f(
// CPU-NOT: math.rsqrt
// CPU: math.sqrt
// CPU: arith.divf
// CPU-LABEL: func.func @host(
// CPU: math.tanh
module attributes {gpu.container_module} {
  gpu.module @k {
    gpu.func @f(%x: f32, %y: f16, %p: memref<?xf32>, %ph: memref<?xf16>) kernel {
      %a = math.tanh %x : f32
      %b = math.floor %x : f32
      %c = math.log10 %x : f32
      %d = math.exp %x : f32
      %e = math.sin %y : f16
      %f = math.trunc %x : f32
      %g = math.rsqrt %x : f32
      %c0 = arith.constant 0 : index
      %c1 = arith.constant 1 : index
      %c2 = arith.constant 2 : index
      %c3 = arith.constant 3 : index
      %c4 = arith.constant 4 : index
      %c5 = arith.constant 5 : index
      memref.store %a, %p[%c0] : memref<?xf32>
      memref.store %b, %p[%c1] : memref<?xf32>
      memref.store %c, %p[%c2] : memref<?xf32>
      memref.store %d, %p[%c3] : memref<?xf32>
      memref.store %e, %ph[%c0] : memref<?xf16>
      memref.store %f, %p[%c4] : memref<?xf32>
      memref.store %g, %p[%c5] : memref<?xf32>
      gpu.return
    }
  }
  func.func @host(%x: f32) -> f32 {
    %r = math.tanh %x : f32
    return %r : f32
  }
}
