// RUN: attention-opt %s --attn-nvvm-to-host --split-input-file | FileCheck %s

// The device module becomes the module; host code goes. Each kernel gets
// an entry taking CUDA's kernelParams array.
// CHECK-LABEL: llvm.func @k(
// CHECK-SAME: %{{.*}}: !llvm.ptr, %{{.*}}: i64)
// CHECK-NOT: nvvm.kernel
// CHECK: llvm.call @__nvemu_sreg(%{{.*}}) : (i32) -> i32
// CHECK-LABEL: llvm.func @k__nvemu(
// CHECK-SAME: %[[P:.*]]: !llvm.ptr)
// CHECK: %[[S0:.*]] = llvm.getelementptr %[[P]][0] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[A0:.*]] = llvm.load %[[S0]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.load %[[A0]] : !llvm.ptr -> !llvm.ptr
// CHECK: %[[S1:.*]] = llvm.getelementptr %[[P]][1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[A1:.*]] = llvm.load %[[S1]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.load %[[A1]] : !llvm.ptr -> i64
// CHECK: llvm.call @k(
// CHECK-NOT: gpu.module
// CHECK-NOT: func.func
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%a: !llvm.ptr<1>, %n: i64) attributes {gpu.kernel, nvvm.kernel, nvvm.maxntid = array<i32: 32, 1, 1>} {
      %t = nvvm.read.ptx.sreg.tid.x : i32
      llvm.return
    }
  }
  func.func @host() {
    return
  }
}

// -----

// Dynamic shared memory is the emulated CTA's buffer; address spaces go.
// CHECK-LABEL: llvm.func @smem(
// CHECK-NOT: addrspace
// CHECK-NOT: __dynamic_shmem__
// CHECK: %[[S:.*]] = llvm.call @__nvemu_dynamic_smem() : () -> !llvm.ptr
// CHECK: %[[G:.*]] = llvm.getelementptr %[[S]][4] : (!llvm.ptr) -> !llvm.ptr, f32
// CHECK: llvm.call @__nvemu_cp_async(%[[G]], %{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, !llvm.ptr, i32, i32) -> ()
// CHECK: llvm.call @__nvemu_cp_async_commit() : () -> ()
// CHECK: llvm.call @__nvemu_cp_async_wait(%{{.*}}) : (i32) -> ()
// CHECK: llvm.call @__nvemu_barrier(%{{.*}}, %{{.*}}) : (i32, i32) -> ()
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.mlir.global internal @__dynamic_shmem__0() {addr_space = 3 : i32, alignment = 16 : i64} : !llvm.array<0 x i8>
    llvm.func @smem(%src: !llvm.ptr) attributes {gpu.kernel, nvvm.kernel} {
      %s = llvm.mlir.addressof @__dynamic_shmem__0 : !llvm.ptr<3>
      %g = llvm.getelementptr %s[4] : (!llvm.ptr<3>) -> !llvm.ptr<3>, f32
      %src1 = llvm.addrspacecast %src : !llvm.ptr to !llvm.ptr<1>
      nvvm.cp.async.shared.global %g, %src1, 16, cache = cg : !llvm.ptr<3>, !llvm.ptr<1>
      nvvm.cp.async.commit.group
      nvvm.cp.async.wait.group 0
      nvvm.barrier0
      llvm.return
    }
  }
}

// -----

// Warp collectives: results come back through a stack buffer.
// CHECK-LABEL: llvm.func @frag(
// CHECK: %[[BUF:.*]] = llvm.alloca %{{.*}} x f32
// CHECK: %[[LD:.*]] = llvm.alloca %{{.*}} x i32
// CHECK: llvm.call @__nvemu_ldmatrix(%{{.*}}, %{{.*}}, %{{.*}}, %[[LD]]) : (!llvm.ptr, i32, i32, !llvm.ptr) -> ()
// CHECK: llvm.call @__nvemu_mma_m16n8k16(%{{.*}}, %[[BUF]], {{.*}}) : (i32, !llvm.ptr, i32, i32, i32, i32, i32, i32, f32, f32, f32, f32) -> ()
// CHECK: %[[E0:.*]] = llvm.getelementptr %[[BUF]][0] : (!llvm.ptr) -> !llvm.ptr, f32
// CHECK: llvm.load %[[E0]] : !llvm.ptr -> f32
// CHECK: llvm.call @__nvemu_shfl({{.*}}) : (i32, i32, i32, i32, i32, !llvm.ptr) -> i32
// CHECK: llvm.bitcast %{{.*}} : i32 to f32
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @frag(%p: !llvm.ptr<3>, %c: f32, %mask: i32, %off: i32, %clamp: i32) attributes {gpu.kernel, nvvm.kernel} {
      %r = nvvm.ldmatrix %p {eltType = #nvvm.ld_st_matrix_elt_type<b16>, layout = #nvvm.mma_layout<col>, num = 2 : i32, shape = #nvvm.ld_st_matrix_shape<m = 8, n = 8>} : (!llvm.ptr<3>) -> !llvm.struct<(i32, i32)>
      %b0 = llvm.extractvalue %r[0] : !llvm.struct<(i32, i32)>
      %b1 = llvm.extractvalue %r[1] : !llvm.struct<(i32, i32)>
      %d = nvvm.mma.sync A[%b0, %b1, %b0, %b1] B[%b0, %b1] C[%c, %c, %c, %c] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>} : (i32, i32, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      %d0 = llvm.extractvalue %d[0] : !llvm.struct<(f32, f32, f32, f32)>
      %s = nvvm.shfl.sync bfly %mask, %d0, %off, %clamp : f32 -> f32
      llvm.return
    }
  }
}

// -----

// sm_90a: wgmma (accumulators through stack buffers), its groups, TMA and
// mbarriers become emulator calls; fences and register budgets go.
// CHECK-LABEL: llvm.func @hopper(
// CHECK-NOT: nvvm.
// CHECK: llvm.call @__nvemu_mbarrier_init(
// CHECK: llvm.call @__nvemu_mbarrier_arrive(%{{.*}}, %{{.*}}, %{{.*}}) : (!llvm.ptr, i32, i32) -> ()
// CHECK: llvm.call @__nvemu_tma_load(%{{.*}}, %{{.*}}, %{{.*}}, {{.*}}) : (!llvm.ptr, !llvm.ptr, !llvm.ptr, i32, i32, i32, i32, i32, i32) -> ()
// CHECK: llvm.call @__nvemu_mbarrier_wait_parity(
// CHECK: llvm.call @__nvemu_wgmma(%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}) : (i32, i32, i64, i64, !llvm.ptr, !llvm.ptr) -> ()
// CHECK: llvm.call @__nvemu_wgmma_commit()
// CHECK: llvm.call @__nvemu_wgmma_wait(
// CHECK: llvm.call @__nvemu_barrier_arrive(
// CHECK-LABEL: llvm.func @hopper__nvemu(
// A by-value tensor map is passed as the kernelParams pointer itself.
// CHECK: %[[S:.*]] = llvm.getelementptr %{{.*}}[1] : (!llvm.ptr) -> !llvm.ptr, !llvm.ptr
// CHECK: %[[M:.*]] = llvm.load %[[S]] : !llvm.ptr -> !llvm.ptr
// CHECK: llvm.call @hopper(%{{.*}}, %[[M]])
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @hopper(%bar: !llvm.ptr<3>, %map: !llvm.ptr {llvm.align = 64 : i64, llvm.byval = !llvm.array<128 x i8>, nvvm.grid_constant}) attributes {gpu.kernel, nvvm.kernel} {
      %c1 = llvm.mlir.constant(1 : i32) : i32
      %c0 = llvm.mlir.constant(0 : i32) : i32
      %tx = llvm.mlir.constant(8192 : i32) : i32
      %d = llvm.mlir.constant(0 : i64) : i64
      %n = llvm.mlir.constant(256 : i32) : i32
      nvvm.fence.mbarrier.init
      nvvm.mbarrier.init %bar, %c1 : !llvm.ptr<3>, i32
      nvvm.mbarrier.arrive.expect_tx %bar, %tx : !llvm.ptr<3>, i32
      %dst = llvm.addrspacecast %bar : !llvm.ptr<3> to !llvm.ptr<7>
      nvvm.cp.async.bulk.tensor.shared.cluster.global %dst, %map, %bar, box[%c0, %c0] : !llvm.ptr<7>, !llvm.ptr
      nvvm.mbarrier.try_wait.parity %bar, %c0, %c0 : !llvm.ptr<3>, i32, i32
      nvvm.setmaxregister increase 216
      nvvm.wgmma.fence.aligned
      %acc = llvm.mlir.poison : !llvm.struct<(f32, f32, f32, f32)>
      %r = nvvm.wgmma.mma_async %d, %d, %acc, <m = 64, n = 8, k = 16>, D[<f32>, <zero>], A[<bf16>, <one>, <row>], B[<bf16>, <one>, <col>] : !llvm.struct<(f32, f32, f32, f32)> -> !llvm.struct<(f32, f32, f32, f32)>
      nvvm.wgmma.commit.group.sync.aligned
      nvvm.wgmma.wait.group.sync.aligned 0
      nvvm.fence.proxy {kind = #nvvm.proxy_kind<async.shared>, space = #nvvm.shared_space<cta>}
      nvvm.barrier.arrive id = %c1 number_of_threads = %n
      llvm.return
    }
  }
}
