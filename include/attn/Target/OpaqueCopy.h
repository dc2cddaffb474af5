//===- OpaqueCopy.h - Register copies LLVM cannot see through ---*- C++ -*-===//
//
// A persistent CTA's math warps re-derive per tile what LLVM would
// otherwise hoist out of the tile loop and hold through the KV loop
// (shared-memory addresses, lane coordinates, the tile's indices), the
// math warps derive Q's wgmma descriptors per KV tile rather than hold
// them, and each role of the warp-specialized kernel derives its tile
// from its own copies of the block ids rather than share values across
// setmaxnreg: the loop-invariant value goes through an inline-PTX `mov`
// with side effects, which LICM and GVN leave in place. The lowering
// emits it; the nvemu host rewrite recognizes the same text and forwards
// the operand.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_TARGET_OPAQUECOPY_H
#define ATTN_TARGET_OPAQUECOPY_H

#include <cstdint>

namespace mlir::attn {

/// Inline PTX of a copy of a `bits`-wide (32 or 64) register, and its LLVM
/// constraints.
inline const char *opaqueCopyAsm(int64_t bits) {
  return bits == 64 ? "mov.b64 $0, $1;" : "mov.b32 $0, $1;";
}
inline const char *opaqueCopyConstraints(int64_t bits) {
  return bits == 64 ? "=l,l" : "=r,r";
}

} // namespace mlir::attn

#endif // ATTN_TARGET_OPAQUECOPY_H
