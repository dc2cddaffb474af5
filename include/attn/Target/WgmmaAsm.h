//===- WgmmaAsm.h - wgmma.mma_async with A in registers ---------*- C++ -*-===//
//
// The NVVM dialect's wgmma.mma_async takes both operands by shared-memory
// descriptor. FlashAttention-3 feeds P V with P straight from the softmax
// registers (the PTX "RS" form, A as four 32-bit registers a thread), which
// saves writing P to shared memory and the barrier that publishes it. The
// lowering emits that form as inline PTX, and a wait ptxas may not hoist;
// the nvemu host rewrite recognizes the same text, so both sides take it
// from here.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_WGMMAASM_H
#define ATTN_TARGET_WGMMAASM_H

#include <cstdint>
#include <cstdlib>
#include <string>

namespace mlir::attn::wgmma {

/// Inline PTX of D += A B, m64nNk16, f32 accumulator, A (f16 or bf16) in
/// registers, B by descriptor (`transB`: B is N-major). Operands: $0 ..
/// $(N/2 - 1) the accumulator (outputs, tied to the first N/2 inputs),
/// $(N) .. $(N + 3) the A registers, $(N + 4) the B descriptor.
inline std::string registerAAsm(int64_t n, bool bf16, bool transB) {
  const char *type = bf16 ? "bf16" : "f16";
  std::string s = "{\n.reg .pred p;\nsetp.ne.b32 p, 1, 0;\n"
                  "wgmma.mma_async.sync.aligned.m64n" +
                  std::to_string(n) + "k16.f32." + type + "." + type + " {";
  for (int64_t i = 0; i < n / 2; ++i)
    s += (i ? ", $" : "$") + std::to_string(i);
  s += "}, {";
  for (int64_t i = 0; i < 4; ++i)
    s += (i ? ", $" : "$") + std::to_string(n + i);
  s += "}, $" + std::to_string(n + 4) + ", p, 1, 1, " +
       std::string(transB ? "1" : "0") + ";\n}\n";
  return s;
}

/// LLVM constraints of registerAAsm(n, ...).
inline std::string registerAConstraints(int64_t n) {
  std::string s;
  for (int64_t i = 0; i < n / 2; ++i)
    s += "=f,";
  for (int64_t i = 0; i < n / 2; ++i)
    s += std::to_string(i) + ",";
  return s + "r,r,r,r,l";
}

/// Whether `asmString` is registerAAsm of some N, type and transposition,
/// which it returns.
inline bool parseRegisterAAsm(const std::string &asmString, int64_t &n,
                              bool &bf16, bool &transB) {
  size_t at = asmString.find("m64n");
  if (at == std::string::npos)
    return false;
  n = std::strtol(asmString.c_str() + at + 4, nullptr, 10);
  if (n < 8 || n > 256 || n % 8)
    return false;
  for (int type = 0; type < 2; ++type)
    for (int trans = 0; trans < 2; ++trans)
      if (asmString == registerAAsm(n, type, trans)) {
        bf16 = type, transB = trans;
        return true;
      }
  return false;
}

/// Inline PTX of wgmma.wait_group 0 that ptxas leaves after the code
/// before it. ptxas (CUDA 13) schedules the wait as if it cost nothing and
/// hoists it into the first stall, e.g. ahead of the softmax's
/// exponentials, which then run with no product in flight. A branch ends
/// its scheduling region, so the wait sits behind one, taken when $0 (any
/// warp-uniform value that is never all ones, such as a tile index) is all
/// ones; both paths wait.
inline const char *fencedWaitAllAsm() {
  return "{\n.reg .pred p;\nsetp.eq.u32 p, $0, -1;\n@p bra.uni WAIT_ODD;\n"
         "wgmma.wait_group.sync.aligned 0;\nbra.uni WAIT_DONE;\nWAIT_ODD:\n"
         "wgmma.wait_group.sync.aligned 0;\nWAIT_DONE:\n}\n";
}
inline const char *fencedWaitAllConstraints() { return "r"; }

} // namespace mlir::attn::wgmma

#endif // ATTN_TARGET_WGMMAASM_H
