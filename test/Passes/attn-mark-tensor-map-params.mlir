// RUN: attention-opt %s --split-input-file --attn-mark-tensor-map-params --verify-diagnostics | FileCheck %s

// The last N parameters become 128-byte, 64-byte aligned by-value grid
// constants; the marker attribute is consumed.
// CHECK-LABEL: llvm.func @k(
// CHECK-SAME: %arg0: !llvm.ptr, %arg1: i64,
// CHECK-SAME: %arg2: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant},
// CHECK-SAME: %arg3: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant})
// CHECK-NOT: attn.tensor_map_params
gpu.module @m {
  llvm.func @k(%a: !llvm.ptr, %n: i64, %m0: !llvm.ptr, %m1: !llvm.ptr) attributes {attn.tensor_map_params = 2 : i64, gpu.kernel, nvvm.kernel} {
    llvm.return
  }
}

// -----

gpu.module @m {
  // expected-error @+1 {{attn.tensor_map_params = 3 does not fit a kernel with 2 parameters}}
  llvm.func @too_many(%a: !llvm.ptr, %m0: !llvm.ptr) attributes {attn.tensor_map_params = 3 : i64, gpu.kernel, nvvm.kernel} {
    llvm.return
  }
}

// -----

gpu.module @m {
  // expected-error @+1 {{tensor-map parameter 1 is not a pointer}}
  llvm.func @not_ptr(%a: !llvm.ptr, %m0: i64) attributes {attn.tensor_map_params = 1 : i64, gpu.kernel, nvvm.kernel} {
    llvm.return
  }
}
