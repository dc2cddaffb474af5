// RUN: attention-opt %s --attn-rocdl-to-host --split-input-file | FileCheck %s

// The device module becomes the module; host code goes. Work-item and
// work-group ids become the emulator's special registers, s_barrier its
// CTA-wide barrier, and each kernel gets an entry taking HIP's
// kernelParams array. The kernel calling convention and rocdl attributes
// go.
// CHECK: llvm.mlir.global external constant @__amdemu_lds_bytes(0 : i32)
// CHECK-LABEL: llvm.func @k(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-NOT: rocdl.
// CHECK: llvm.call @__nvemu_sreg(%{{.*}}) : (i32) -> i32
// CHECK: llvm.call @__nvemu_sreg(%{{.*}}) : (i32) -> i32
// CHECK: llvm.call @__nvemu_barrier(%{{.*}}, %{{.*}}) : (i32, i32) -> ()
// CHECK-LABEL: llvm.func @k__amdemu(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr)
// CHECK: llvm.call @k(
// CHECK-NOT: gpu.module
// CHECK-NOT: func.func
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%a: !llvm.ptr<1>, %n: i64) attributes {gpu.kernel, rocdl.kernel, rocdl.flat_work_group_size = "64,64"} {
      %t = rocdl.workitem.id.x : i32
      %g = rocdl.workgroup.id.y : i32
      rocdl.barrier
      llvm.return
    }
  }
  func.func @host() {
    return
  }
}

// -----

// LDS globals lie in the emulated work-group's LDS in order, each 16-byte
// aligned (16 x f32, then 8 x bf16 at 64); their total is recorded.
// CHECK: llvm.mlir.global external constant @__amdemu_lds_bytes(80 : i32)
// CHECK-LABEL: llvm.func @lds(
// CHECK-NOT: addr_space = 3
// CHECK: %[[B0:.*]] = llvm.call @__nvemu_dynamic_smem() : () -> !llvm.ptr
// CHECK: llvm.getelementptr %[[B0]][0] : (!llvm.ptr) -> !llvm.ptr, i8
// CHECK: %[[B1:.*]] = llvm.call @__nvemu_dynamic_smem() : () -> !llvm.ptr
// CHECK: llvm.getelementptr %[[B1]][64] : (!llvm.ptr) -> !llvm.ptr, i8
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.mlir.global internal @a() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<16 x f32>
    llvm.mlir.global internal @b() {addr_space = 3 : i32, alignment = 4 : i64} : !llvm.array<8 x bf16>
    llvm.func @lds() attributes {gpu.kernel, rocdl.kernel} {
      %pa = llvm.mlir.addressof @a : !llvm.ptr<3>
      %pb = llvm.mlir.addressof @b : !llvm.ptr<3>
      %x = llvm.load %pa : !llvm.ptr<3> -> f32
      %y = llvm.load %pb : !llvm.ptr<3> -> bf16
      llvm.return
    }
  }
}

// -----

// Cross-lane operations and the MFMA become emulator calls: v_mbcnt (lo,
// hi), ds_swizzle, ds_bpermute, and v_mfma with its 4 x 16-bit operands as
// i64 and its accumulators through memory.
// CHECK-LABEL: llvm.func @lanes(
// CHECK: llvm.call @__amdemu_mbcnt(%{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i32) -> i32
// CHECK: llvm.call @__amdemu_mbcnt(%{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i32) -> i32
// CHECK: llvm.call @__amdemu_swizzle(%{{.*}}, %{{.*}}) : (i32, i32) -> i32
// CHECK: llvm.call @__amdemu_bpermute(%{{.*}}, %{{.*}}) : (i32, i32) -> i32
// CHECK: %[[A:.*]] = llvm.bitcast %{{.*}} : vector<4xi16> to i64
// CHECK: %[[B:.*]] = llvm.bitcast %{{.*}} : vector<4xi16> to i64
// CHECK: llvm.store %{{.*}}, %[[C:.*]] : vector<4xf32>, !llvm.ptr
// CHECK: %[[BF16:.*]] = llvm.mlir.constant(1 : i32) : i32
// CHECK: llvm.call @__amdemu_mfma(%[[BF16]], %[[A]], %[[B]], %[[C]], %[[D:.*]]) : (i32, i64, i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.load %[[D]] : !llvm.ptr -> vector<4xf32>
// The f32 MFMA (16x16x4): each operand's bits in the low half of an i64.
// CHECK: %[[FA:.*]] = llvm.bitcast %{{.*}} : f32 to i32
// CHECK: %[[FA64:.*]] = llvm.zext %[[FA]] : i32 to i64
// CHECK: %[[F32:.*]] = llvm.mlir.constant(2 : i32) : i32
// CHECK: llvm.call @__amdemu_mfma(%[[F32]], %[[FA64]], %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i64, i64, !llvm.ptr, !llvm.ptr) -> ()
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @lanes(%v: i32, %a: vector<4xi16>, %c: vector<4xf32>, %f: f32) attributes {gpu.kernel, rocdl.kernel} {
      %m = llvm.mlir.constant(-1 : i32) : i32
      %z = llvm.mlir.constant(0 : i32) : i32
      %p = llvm.mlir.constant(16415 : i32) : i32
      %lo = rocdl.mbcnt.lo %m, %z : (i32, i32) -> i32
      %lane = rocdl.mbcnt.hi %m, %lo : (i32, i32) -> i32
      %s = rocdl.ds_swizzle %v, %p : (i32, i32) -> i32
      %b = rocdl.ds_bpermute %lane, %s : (i32, i32) -> i32
      %d = rocdl.mfma.f32.16x16x16bf16.1k %a, %a, %c, %z, %z, %z : (vector<4xi16>, vector<4xi16>, vector<4xf32>, i32, i32, i32) -> vector<4xf32>
      %e = rocdl.mfma.f32.16x16x4f32 %f, %f, %d, %z, %z, %z : (f32, f32, vector<4xf32>, i32, i32, i32) -> vector<4xf32>
      llvm.return
    }
  }
}
