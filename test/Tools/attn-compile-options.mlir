// --attn-compile option rules that need no GPU toolchain.
// RUN: rm -rf %t && mkdir -p %t
// An empty entry in the target list is refused.
// RUN: not attention-opt %s --attn-compile="target=cpu," --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: attention-opt: error: --attn-compile target list 'cpu,' has an empty entry
// A target named twice is refused (its files would collide in the bundle).
// RUN: not attention-opt %s --attn-compile="target=cpu,sm_80,cpu" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=DUP
// DUP: attention-opt: error: --attn-compile target list 'cpu,sm_80,cpu' names cpu twice
// An option given twice is refused (which one would win?).
// RUN: not attention-opt %s --attn-compile="target=sm_90a overlap=1 overlap=0" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=TWICE
// TWICE: attention-opt: error: --attn-compile option 'overlap' given twice
// pingpong needs the warp-specialized kernel, whatever the target.
// RUN: not attention-opt %s --attn-compile="target=cpu warp-specialize=0 pingpong=1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PINGPONG
// PINGPONG: attention-opt: error: --attn-compile option pingpong=1 needs warp-specialize=1
// persistent takes a CTA count.
// RUN: not attention-opt %s --attn-compile="target=sm_90a persistent=yes" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PERSIST
// RUN: not attention-opt %s --attn-compile="target=sm_90a persistent=-1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PERSIST
// RUN: not attention-opt %s --attn-compile="target=sm_90a persistent=65537" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PERSIST
// PERSIST: attention-opt: error: --attn-compile option 'persistent={{.*}}' (expected persistent=N, N CTAs in [0, 65536] with 0 for one CTA per output tile, or persistent=sm, one per multiprocessor of the device)
// producer-registers takes a setmaxnreg count (a multiple of 8 in
// [24, 256)), and only for the warp-specialized kernel.
// RUN: not attention-opt %s --attn-compile="target=sm_90a producer-registers=20" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PRODUCER
// RUN: not attention-opt %s --attn-compile="target=sm_90a producer-registers=30" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PRODUCER
// RUN: not attention-opt %s --attn-compile="target=sm_90a producer-registers=256" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PRODUCER
// RUN: not attention-opt %s --attn-compile="target=sm_90a producer-registers=x" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PRODUCER
// PRODUCER: attention-opt: error: --attn-compile option 'producer-registers={{.*}}' (expected producer-registers=N, N a multiple of 8 in [24, 256): the producer warpgroup's registers after setmaxnreg)
// RUN: not attention-opt %s --attn-compile="target=sm_90a warp-specialize=0 producer-registers=24" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=PRODUCER-WS
// PRODUCER-WS: attention-opt: error: --attn-compile option producer-registers=N needs warp-specialize=1 (it is the producer warpgroup's share)
// Kernel options without sm_90a among the targets take no effect: a warning.
// RUN: attention-opt %s --attn-compile="target=cpu overlap=1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=WARN
// WARN: attention-opt: warning: --attn-compile kernel options choose among sm_90a kernels and have no effect on cpu

func.func @k(%q: tensor<1x1x16x16xf32>) -> tensor<1x1x16x16xf32> {
  %o = attn.attention %q, %q, %q : tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32>, tensor<1x1x16x16xf32> -> tensor<1x1x16x16xf32>
  return %o : tensor<1x1x16x16xf32>
}
