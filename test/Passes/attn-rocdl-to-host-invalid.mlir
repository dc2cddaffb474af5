// RUN: attention-opt %s --attn-rocdl-to-host --split-input-file --verify-diagnostics

// expected-error @below {{no gpu.module to emulate: run attn-to-rocdl first}}
module {
  func.func @host() {
    return
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, rocdl.kernel} {
      // expected-error @below {{amdemu does not emulate rocdl.s.sleep}}
      rocdl.s.sleep 1
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, rocdl.kernel} {
      // expected-error @below {{amdemu cannot run inline AMDGPU assembly: s_nop 0}}
      llvm.inline_asm has_side_effects "s_nop 0", "" : () -> ()
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k(%a: vector<4xi16>, %c: vector<4xf32>) attributes {gpu.kernel, rocdl.kernel} {
      %one = llvm.mlir.constant(1 : i32) : i32
      %z = llvm.mlir.constant(0 : i32) : i32
      // expected-error @below {{amdemu emulates MFMAs without cbsz / abid / blgp broadcasts only}}
      %d = rocdl.mfma.f32.16x16x16bf16.1k %a, %a, %c, %one, %z, %z : (vector<4xi16>, vector<4xi16>, vector<4xf32>, i32, i32, i32) -> vector<4xf32>
      llvm.return
    }
  }
}

// -----

module attributes {gpu.container_module} {
  gpu.module @m {
    llvm.func @k() attributes {gpu.kernel, rocdl.kernel} {
      // expected-error @below {{amdemu does not emulate llvm.amdgcn.s.memtime}}
      %t = llvm.call_intrinsic "llvm.amdgcn.s.memtime"() : () -> i64
      llvm.return
    }
  }
}
