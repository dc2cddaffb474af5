//===- Bundle.h - Kernel bundle writer ---------------------------*- C++ -*-===//
//
// A bundle is what `attention-opt --attn-compile --emit-dir=DIR` leaves for a
// user: DIR/<name>.json (manifest), DIR/<name>.h (C header with the binaries
// embedded) and one binary file per kernel (<name>.<target>.<format>). The
// runtime (runtime/include/attn_runtime.h) loads either form. Plain C++, no
// MLIR dependency; docs/embedding.md describes the format and the ABIs.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_EMIT_BUNDLE_H
#define ATTN_EMIT_BUNDLE_H

#include <array>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace mlir::attn {

/// One kernel argument, in call order.
struct BundleArg {
  std::string name;  ///< q, k, v, gate, bias, doc_ids, block_mask, o, lse; or B, Sq, Skv
  std::string dtype; ///< f32 f16 bf16 i32 i8 (also f64 i64 i16 u8 i1) for tensors; i64 for scalars
  /// Dimensions as formulas over B, Sq, Skv and the bundle's constants, e.g.
  /// {"B", "32", "Sq", "128"} or {"B", "32", "ceil(Sq/64)", "ceil(Skv/64)"};
  /// empty for scalars.
  std::vector<std::string> shape;
  bool output = false;
};

/// A CUDA tensor map the runtime encodes at each launch (ABI
/// "flat-memref+tma"): a tiled view of tensor argument `arg` with its
/// manifest shape (dense, row-major), read in boxes of `box` elements,
/// innermost dimension first, with `swizzle` bytes of shared-memory swizzle
/// (0, 32, 64 or 128). Rows outside the tensor read as zeros.
struct BundleTensorMap {
  std::string arg;
  std::vector<int64_t> box;
  int64_t swizzle = 0;
};

struct BundleKernel {
  std::string target; ///< cpu, sm_80, sm_90, gfx90a, gfx942
  std::string format; ///< so, cubin, ptx, hsaco
  std::string file;   ///< file name inside the emit dir, e.g. gqa.sm_80.cubin
  /// The binary. If empty, writeBundle reads DIR/file (already written by
  /// the caller, e.g. by clang) so the header can embed it.
  std::vector<uint8_t> binary;
  std::string entry; ///< `_mlir_ciface_gqa` (cpu) or the GPU kernel name
  /// GPU launch: grid as formulas over B, Sq, Skv and the constants (e.g.
  /// "ceil(Sq/64)", "Hq", "B"), block dims.
  std::string gridX, gridY, gridZ;
  int64_t blockX = 1, blockY = 1, blockZ = 1;
  int64_t dynamicSmemBytes = 0, registers = -1, spillBytes = -1, scratchBytes = -1; ///< -1 = unknown
  /// Shared memory / LDS the kernel declares statically (informational).
  int64_t staticSmemBytes = 0;
  /// CPU: total work items (e.g. "B*32*ceil(Sq/32)"); the .so entry takes
  /// (memref descriptors..., wi_begin, wi_end).
  std::string workItems;
  /// Bytes of scratch the runtime allocates for each launch (the KV-
  /// splitting kernels' arrival counters and partial results), a formula
  /// like the grid's (split-KV workers grow with the launch sizes); empty:
  /// none. CPU: passed after the tensors as a rank-1 f32 memref; GPU: as one
  /// more flat-memref after the B, Sq, Skv scalars.
  std::string workspaceBytes;
  /// Leading bytes of the workspace that must start zeroed (GPU: the
  /// runtime clears only these); empty: all of it.
  std::string workspaceZeroBytes;
  /// The kernel leaves those bytes zero when it finishes (the KV-splitting
  /// kernels reset their arrival counters): a workspace the caller zeroed
  /// once serves every later launch without clearing.
  bool workspaceZeroOnExit = false;
  /// GPU parameter ABI. "flat-memref" (the default for GPU kernels when
  /// empty): every tensor argument is passed as MLIR's 1-D memref descriptor
  /// (allocated ptr, aligned ptr, i64 offset=0, i64 size=numel, i64
  /// stride=1), followed by the i64 scalars B, Sq, Skv. "flat-memref+tma"
  /// (CUDA): the same, then one CUtensorMap per `tensorMaps` entry, passed
  /// by value (128 bytes, 64-byte aligned, like `__grid_constant__`).
  std::string paramAbi;
  std::vector<BundleTensorMap> tensorMaps;
  /// Informational (GPU): which kernel the compiler built, e.g. "mma.sync",
  /// "simt", "wgmma+tma+producer+overlap", "mfma"; its tiling (block_q,
  /// block_kv, warps, stages); the producer warpgroup's registers (0: none).
  std::string kernel;
  std::array<int64_t, 4> tile = {0, 0, 0, 0};
  int64_t producerRegisters = 0;
  /// What ptxas said of the kernel's warpgroup MMAs (its C75xx infos: the
  /// wgmma.mma_async it serialized, the warpgroup.wait it injected),
  /// without the "ptxas info" prefix; empty: nothing. Each one means a
  /// product that was meant to overlap other work does not.
  std::vector<std::string> ptxasWgmmaNotes;
  /// `tile` as reports print it: block_q x block_kv x warps x stages, e.g.
  /// "128x64x8x2".
  std::string tileName() const;
  /// nvemu build of the kernel (`emulation=1`); written as
  /// nvemu/<fnv1a-64 of `binary`, 16 hex digits>.so, where the emulating
  /// CUDA driver looks for the image it is given.
  std::vector<uint8_t> emulation;
};

struct BundleDesc {
  std::string name; ///< C identifier
  std::string spec; ///< canonical spec string
  std::vector<BundleArg> args;
  std::vector<BundleKernel> kernels;
  int64_t workspaceBytes = 0;
  /// Named integers the formulas may use besides B, Sq, Skv (e.g. Hq=32,
  /// Hk=8, Dqk=128, blockQ=64), in manifest order.
  std::vector<std::pair<std::string, int64_t>> constants;
};

/// Reads a `ptxas -v` log into `kernel`: registers, spill bytes, stack
/// frame (scratchBytes), static shared memory and the wgmma pipeline infos
/// (ptxasWgmmaNotes). Fields the log does not mention are left alone.
void readPtxasReport(const std::string &log, BundleKernel &kernel);

/// [A-Za-z_][A-Za-z0-9_]*: what bundle, argument and kernel names must be.
bool isCIdentifier(const std::string &s);

/// Checks names, dtypes, targets/formats, file names and every formula
/// (identifiers must be B, Sq, Skv or a constant). Returns "" or an error.
std::string validateBundle(const BundleDesc &desc);

/// Writes DIR/<name>.json (manifest), DIR/<name>.h (C header) and every
/// kernel's binary file; creates DIR. Returns "" or an error message.
std::string writeBundle(const BundleDesc &desc, const std::string &dir);

/// Manifest text (JSON) and header text, for tests. The header embeds the
/// kernels' `binary` bytes as given.
std::string manifestJson(const BundleDesc &desc);
std::string cHeader(const BundleDesc &desc);

} // namespace mlir::attn

#endif // ATTN_EMIT_BUNDLE_H
