// REQUIRES: ptxas
// --attn-compile options pick the sm_90a kernel, to compare variants on a
// GPU: tma=0 is the cp.async wgmma kernel (flat-memref, 256 threads),
// warp-specialize=0 the TMA kernel without a producer warpgroup
// (flat-memref+tma, 256 threads), overlap=1 the warp-specialized kernel
// with P V overlapped with the next softmax (wait_group 1), pingpong=1
// the warpgroups taking turns (scheduler barriers of 256 threads), with or
// without overlap; producer-registers=N pins the producer warpgroup's
// setmaxnreg share (24: the math warpgroups get 240, FlashAttention-3's
// split); anything else is refused, and pingpong without a producer
// warpgroup too.
// RUN: rm -rf %t && mkdir -p %t/cp %t/tma %t/ov %t/pp %t/p24 %t/ws
// RUN: attention-opt %s --attn-compile="target=sm_90a tma=0" --emit-dir=%t/cp 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=CPASYNC --input-file=%t/cp/v.json
// RUN: FileCheck %s --check-prefix=CPASYNC-PTX --input-file=%t/cp/v.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_90a warp-specialize=0" --emit-dir=%t/tma 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=TMA --input-file=%t/tma/v.json
// RUN: FileCheck %s --check-prefix=TMA-PTX --input-file=%t/tma/v.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1" --emit-dir=%t/ov 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=OVERLAP --input-file=%t/ov/v.json
// RUN: FileCheck %s --check-prefix=OVERLAP-PTX --input-file=%t/ov/v.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1 pingpong=1" --emit-dir=%t/pp 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=OVERLAP --input-file=%t/pp/v.json
// RUN: FileCheck %s --check-prefix=PINGPONG --input-file=%t/pp/v.json
// RUN: FileCheck %s --check-prefix=PINGPONG-PTX --input-file=%t/pp/v.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_90a overlap=1 pingpong=1 producer-registers=24" --emit-dir=%t/p24 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=P24 --input-file=%t/p24/v.json
// RUN: FileCheck %s --check-prefix=P24-PTX --input-file=%t/p24/v.sm_90a.ptx
// RUN: attention-opt %s --attn-compile="target=sm_90a pingpong=1" --emit-dir=%t/ws 2>/dev/null | FileCheck %s --check-prefix=REPORT
// RUN: FileCheck %s --check-prefix=WS-PINGPONG --input-file=%t/ws/v.json
// RUN: FileCheck %s --check-prefix=WS-PINGPONG-PTX --input-file=%t/ws/v.sm_90a.ptx
// RUN: not attention-opt %s --attn-compile="target=sm_90a warp-specialize=0 pingpong=1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=NO-PRODUCER
// RUN: not attention-opt %s --attn-compile="target=sm_90a tma=2" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=BAD
// RUN: not attention-opt %s --attn-compile="target=sm_90a swizzle=1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=BAD

// REPORT: attn-compile: @v sm_90a cubin registers={{[0-9]+}} spill_bytes=0
// CPASYNC: "param_abi": "flat-memref",
// CPASYNC: "block": [256, 1, 1],
// CPASYNC: "kernel": "wgmma+cp.async",
// CPASYNC-NOT: tensor_maps
// CPASYNC-PTX: cp.async.cg.shared.global
// CPASYNC-PTX-NOT: cp.async.bulk.tensor
// TMA: "param_abi": "flat-memref+tma",
// TMA: "block": [256, 1, 1],
// TMA: "kernel": "wgmma+tma",
// TMA: "tensor_maps"
// TMA-PTX: .maxnreg 255
// TMA-PTX-NOT: setmaxnreg
// TMA-PTX: cp.async.bulk.tensor.4d
// OVERLAP: "param_abi": "flat-memref+tma",
// OVERLAP: "block": [384, 1, 1],
// OVERLAP: "kernel": "wgmma+tma+producer+overlap{{(\+pingpong)?}}",
// OVERLAP-NEXT: "tile": [128, 64, 8, 2],
// OVERLAP-NEXT: "producer_registers": {{[0-9]+}}
// OVERLAP-PTX: setmaxnreg.inc.sync.aligned.u32
// OVERLAP-PTX: wgmma.wait_group.sync.aligned 1;
// PINGPONG: "kernel": "wgmma+tma+producer+overlap+pingpong",
// PINGPONG-PTX: bar.arrive
// PINGPONG-PTX: bar.sync {{.+}}, 256;
// PINGPONG-PTX: wgmma.wait_group.sync.aligned 1;
// P24: "kernel": "wgmma+tma+producer+overlap+pingpong",
// P24: "producer_registers": 24
// P24-PTX: setmaxnreg.dec.sync.aligned.u32 24;
// P24-PTX: setmaxnreg.inc.sync.aligned.u32 240;
// WS-PINGPONG: "kernel": "wgmma+tma+producer+pingpong",
// WS-PINGPONG-PTX: bar.arrive
// WS-PINGPONG-PTX: bar.sync {{.+}}, 256;
// WS-PINGPONG-PTX-NOT: wgmma.wait_group.sync.aligned 1;
// NO-PRODUCER: error: --attn-compile option pingpong=1 needs warp-specialize=1
// BAD: error: --attn-compile option '{{.+}}' (expected tma=0|1, warp-specialize=0|1, overlap=0|1, pingpong=0|1, exp2-ftz=0|1, emulation=0|1, persistent=N|sm or producer-registers=N)

func.func @v(%q: tensor<1x4x256x64xbf16>) -> tensor<1x4x256x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 128, block_kv = 64, warps = 8, stages = 2>} : tensor<1x4x256x64xbf16>, tensor<1x4x256x64xbf16>, tensor<1x4x256x64xbf16> -> tensor<1x4x256x64xbf16>
  return %o : tensor<1x4x256x64xbf16>
}
