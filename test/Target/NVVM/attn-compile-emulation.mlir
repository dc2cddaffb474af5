// REQUIRES: ptxas
// emulation=1 adds the nvemu build of each NVIDIA binary, named by the
// FNV-1a hash of the binary (the emulating driver finds it from the image
// it is given); the manifest and the binaries are unchanged.
// RUN: rm -rf %t && mkdir -p %t
// RUN: attention-opt %s --attn-compile="target=sm_80 emulation=1" --emit-dir=%t 2>&1 | FileCheck %s --check-prefix=REPORT
// RUN: ls %t %t/nvemu | FileCheck %s --check-prefix=FILES
// RUN: python3 -c "import sys; d=open(sys.argv[1],'rb').read(); h=1469598103934665603; exec('for c in d: h=((h^c)*1099511628211)%%(1<<64)'); print('%%016x.so' %% h)" %t/k.sm_80.cubin > %t/hash
// RUN: ls %t/nvemu | grep -F -f %t/hash
// The sm_90a kernel (warp-specialized TMA + wgmma) is emulated too.
// RUN: attention-opt %s --attn-compile="target=sm_90a emulation=1" --emit-dir=%t/a | FileCheck %s --check-prefix=HOPPER
// RUN: ls %t/a/nvemu | FileCheck %s --check-prefix=FILES90

// emulation=1 is not a kernel choice: no "no effect on sm_80" warning.
// REPORT-NOT: warning
// REPORT: attn-compile: @k sm_80 cubin
// FILES: k.json
// FILES-NEXT: k.sm_80.cubin
// FILES-NEXT: k.sm_80.ptx
// FILES-NEXT: nvemu
// FILES: {{^[0-9a-f]{16}\.so$}}
// FILES-NEXT: {{^[0-9a-f]{16}\.so$}}
// HOPPER: attn-compile: @k sm_90a cubin {{.*}} kernel=wgmma+tma+producer
// FILES90: {{^[0-9a-f]{16}\.so$}}
// FILES90-NEXT: {{^[0-9a-f]{16}\.so$}}

func.func @k(%q: tensor<1x2x100x64xbf16>) -> tensor<1x2x100x64xbf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>} : tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16>, tensor<1x2x100x64xbf16> -> tensor<1x2x100x64xbf16>
  return %o : tensor<1x2x100x64xbf16>
}
