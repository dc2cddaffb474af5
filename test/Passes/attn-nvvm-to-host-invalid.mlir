// RUN: attention-opt %s --attn-nvvm-to-host --split-input-file --verify-diagnostics

// expected-error @below {{no gpu.module to emulate: run attn-to-nvvm first}}
module {
  func.func @host() {
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      // expected-error @below {{nvemu does not emulate nvvm.cluster.arrive}}
      nvvm.cluster.arrive
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      // expected-error @below {{nvemu cannot run inline PTX: mov.u32 $0, %clock;}}
      %0 = llvm.inline_asm has_side_effects "mov.u32 $0, %clock;", "=r" : () -> i32
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      // expected-error @below {{nvemu does not emulate special register clock}}
      %0 = nvvm.read.ptx.sreg.clock : i32
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%a: vector<2xf16>, %c: f32) attributes {gpu.kernel, nvvm.kernel} {
      // expected-error @below {{nvemu emulates mma.sync m16n8k16 row.col with f16 / bf16 operands and an f32 accumulator only}}
      %d = nvvm.mma.sync A[%a, %a] B[%a] C[%c, %c, %c, %c] {layoutA = #nvvm.mma_layout<row>, layoutB = #nvvm.mma_layout<col>, shape = #nvvm.shape<m = 16, n = 8, k = 8>} : (vector<2xf16>, vector<2xf16>, f32) -> !llvm.struct<(f32, f32, f32, f32)>
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
  gpu.module @n {
    // expected-error @below {{nvemu: symbol "k" is defined by two gpu.modules}}
    llvm.func @k() attributes {gpu.kernel, nvvm.kernel} {
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%d: i64) attributes {gpu.kernel, nvvm.kernel} {
      %acc = llvm.mlir.poison : !llvm.struct<(vector<2xf16>, vector<2xf16>)>
      // expected-error @below {{nvemu emulates wgmma.mma_async m64nNk16 with f16 / bf16 operands in shared memory and an f32 accumulator only}}
      %r = nvvm.wgmma.mma_async %d, %d, %acc, <m = 64, n = 8, k = 16>, D[<f16>, <zero>], A[<f16>, <one>, <row>], B[<f16>, <one>, <col>] : !llvm.struct<(vector<2xf16>, vector<2xf16>)> -> !llvm.struct<(vector<2xf16>, vector<2xf16>)>
      llvm.return
    }
  }
}

// -----

// The register-A wgmma text with an operand missing (no B descriptor):
// refused like any other inline PTX, not read past its operands.
module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%c: f32, %a: i32) attributes {gpu.kernel, nvvm.kernel} {
      // expected-error @below {{nvemu cannot run inline PTX}}
      %0 = llvm.inline_asm has_side_effects "{\0A.reg .pred p;\0Asetp.ne.b32 p, 1, 0;\0Awgmma.mma_async.sync.aligned.m64n8k16.f32.bf16.bf16 {$0, $1, $2, $3}, {$8, $9, $10, $11}, $12, p, 1, 1, 1;\0A}\0A", "=f,=f,=f,=f,0,1,2,3,r,r,r,r,l" %c, %c, %c, %c, %a, %a, %a, %a : (f32, f32, f32, f32, i32, i32, i32, i32) -> !llvm.struct<(f32, f32, f32, f32)>
      llvm.return
    }
  }
}
