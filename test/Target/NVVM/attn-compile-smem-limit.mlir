// REQUIRES: ptxas
// The schedule sizes a tiling by an estimate of its K / V stages; the
// compile checks the kernel's own shared memory against each target. Head
// dim 256 with 128 x 32 tiles: K stages 2 x 32 x 264 x 2, V (Dv chunk 128)
// 2 x 32 x 136 x 2, the staged Q tile 128 x 264 x 2: 118784 bytes, which
// sm_80 (163 KiB) has and sm_86 (99 KiB) does not. The error is located at
// the op and the compile fails (no bundle for either target).
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80" --emit-dir=%t | FileCheck %s --check-prefix=FITS
// RUN: not attention-opt %s --attn-compile="target=sm_80,sm_86" --emit-dir=%t/no 2>&1 | FileCheck %s

// FITS: attn-compile: @k sm_80 cubin {{.+}} smem_bytes=118785 kernel=mma.sync tile=128x32x8x2
// CHECK: attn-compile-smem-limit.mlir":[[@LINE+2]]:8): error: the sm_86 kernel (mma.sync, tile=128x32x8x2) needs 118784 bytes of shared memory but sm_86 offers 101376; lower block_kv or stages
func.func @k(%q: tensor<1x2x300x256xbf16>) -> tensor<1x2x300x256xbf16> {
  %o = attn.attention %q, %q, %q {tiling = #attn.tiling<block_q = 128, block_kv = 32, warps = 8, stages = 2>} : tensor<1x2x300x256xbf16>, tensor<1x2x300x256xbf16>, tensor<1x2x300x256xbf16> -> tensor<1x2x300x256xbf16>
  return %o : tensor<1x2x300x256xbf16>
}
