// RUN: not attention-opt %s --attn-compile=target=cpu --emit-dir=%t 2>&1 | FileCheck %s

// The function's name becomes the kernel symbol, the files and the header's
// functions: a name that is no C identifier is refused (at the function)
// before any backend sees it (LLVM's PTX printer aborts on some).
// CHECK: attn-compile-invalid.mlir":[[@LINE+1]]:1): error: kernel name 'a b' must be a C identifier ([A-Za-z_][A-Za-z0-9_]*)
func.func @"a b"(%q: tensor<1x1x64x64xf16>) -> tensor<1x1x64x64xf16> {
  %o = attn.attention %q, %q, %q : tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16>, tensor<1x1x64x64xf16> -> tensor<1x1x64x64xf16>
  return %o : tensor<1x1x64x64xf16>
}
