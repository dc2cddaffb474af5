//===- Reference.h - fp64 reference of attention ----------------*- C++ -*-===//
//
// An fp64 evaluation of an AttentionSpec computed straight from the
// definitions of docs/spec-grammar.md ("Conventions"): no tiling and no online
// softmax, so it can arbitrate between every target. Also the deterministic
// random inputs the e2e tests and `attention-run --check` feed to kernels, and
// the dtype rounding helpers they need. No MLIR dependency.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_REFERENCE_H
#define ATTN_REFERENCE_REFERENCE_H

#include "attn/Spec/Spec.h"

#include <cstdint>
#include <string>
#include <vector>

namespace mlir::attn {

/// A dense row-major fp64 tensor. A default-constructed tensor (no data)
/// stands for an absent operand.
struct RefTensor {
  std::vector<int64_t> shape;
  std::vector<double> data;

  RefTensor() = default;
  /// A tensor of `shape` filled with `fill`.
  explicit RefTensor(std::vector<int64_t> shape, double fill = 0.0);

  /// True when the tensor holds no data (an absent operand).
  bool empty() const { return data.empty(); }
  /// Product of the dimensions (1 for rank 0, 0 for an absent tensor).
  int64_t numel() const;
  /// Row-major offset of a full index (no bounds checks).
  int64_t offset(const std::vector<int64_t> &index) const;
  double &at(const std::vector<int64_t> &index) { return data[offset(index)]; }
  double at(const std::vector<int64_t> &index) const {
    return data[offset(index)];
  }
};

/// Operands of one attention problem, laid out as in the dialect.
struct AttentionIO {
  /// Softmax: [B,Hq,Sq,Dqk], [B,Hk,Skv,Dqk], [B,Hv,Skv,Dv].
  /// Linear: [B,H,S,Dk], [B,H,S,Dk], [B,H,S,Dv].
  RefTensor q, k, v;
  /// [B,Hq,Sq,Dv] (elementwise) or [B,Hq,Sq,1] (per head) when spec.gate.
  RefTensor gate;
  /// [B,Hq,Sq,Skv] when spec.bias.
  RefTensor bias;
  /// [B,Skv] when a mask uses `document`.
  std::vector<int32_t> docIds;
  /// [B,Hq,ceil(Sq/BQ),ceil(Skv/BK)] when a mask uses `blockmask`; 0 = skip.
  std::vector<uint8_t> blockMask;
  /// Linear with state=in|inout: [B,H,F,Dv] (F = featureDim()), or
  /// [B,H,F,Dv+1] with norm=sum, the last column being the normalizer
  /// sum_s lambda^(..) phi(k_s).
  RefTensor stateIn;
};

/// Result of runReference. On invalid spec or inputs every tensor is empty
/// and `error` says why.
struct ReferenceResult {
  /// [B,Hq,Sq,Dv] (linear: [B,H,S,Dv]).
  RefTensor out;
  /// [B,Hq,Sq] natural-log LSE when spec.lse; -inf on fully masked rows.
  RefTensor lse;
  /// Linear with state=out|inout: same layout as AttentionIO::stateIn.
  RefTensor stateOut;
  std::string error;
};

/// Shapes of every operand and result for `spec`; an empty shape means the
/// operand is absent.
struct IOShapes {
  std::vector<int64_t> q, k, v, gate, bias, docIds, blockMask, stateIn;
  std::vector<int64_t> out, lse, stateOut;
};
IOShapes ioShapes(const AttentionSpec &spec);

/// Checks that `io` holds exactly the operands `spec` needs, with the right
/// shapes. Returns an empty string when consistent, else a message naming the
/// operand and the shapes.
std::string checkInputs(const AttentionSpec &spec, const AttentionIO &io);

/// Exact mask predicate of the conventions: whether query row i (0-based in
/// [0, Sq)) of batch b, query head h may attend to key j under `mask`.
/// Out-of-range document ids or block-mask entries read as masked.
bool maskKeeps(const AttentionSpec &spec, const MaskSpec &mask,
               const AttentionIO &io, int64_t b, int64_t h, int64_t i,
               int64_t j);

/// Absolute query position of row i under `mask` (bottom-right alignment
/// i + Skv - Sq unless the mask is causal-topleft).
int64_t absoluteQueryPos(const AttentionSpec &spec, const MaskSpec &mask,
                         int64_t i);

/// Evaluates `spec` on `io` in fp64. Validates the spec and the inputs first.
ReferenceResult runReference(const AttentionSpec &spec, const AttentionIO &io);

//===----------------------------------------------------------------------===//
// Inputs and dtype helpers (Inputs.cpp)
//===----------------------------------------------------------------------===//

/// Deterministic random operands for `spec` (identical on every platform:
/// splitmix64, no std distributions). Every floating value is exactly
/// representable in f32, f16 and bf16: q/k/v/bias/stateIn uniform on the grid
/// k/64 in [-1, 1] (the stateIn normalizer column in [0, 1]), gate on k/64 in
/// [-2, 2]; document ids are sorted runs; the runtime block mask is random
/// with the diagonal block of every block row kept. Each operand has its own
/// stream, so adding an operand to a spec leaves the others unchanged. An
/// invalid spec (validateSpec fails) gives empty inputs.
AttentionIO makeRandomInputs(const AttentionSpec &spec, uint64_t seed);

/// IEEE binary16 bits of `f`, rounded to nearest even (overflow gives inf).
uint16_t f32ToF16Bits(float f);
float f16BitsToF32(uint16_t h);
/// bfloat16 bits of `f`, rounded to nearest even (NaN stays a quiet NaN).
uint16_t f32ToBF16Bits(float f);
float bf16BitsToF32(uint16_t h);
/// Rounds `x` to `t` (through f32 for f16/bf16) and widens it back.
double roundToDType(double x, DType t);
/// Every element rounded to `t`: what a kernel of that dtype sees.
RefTensor castTo(const RefTensor &t, DType dtype);

/// Conversions between RefTensor and the buffers kernels read and write.
std::vector<float> toF32(const RefTensor &t);
std::vector<uint16_t> toF16Bits(const RefTensor &t);
std::vector<uint16_t> toBF16Bits(const RefTensor &t);
RefTensor fromF32(const std::vector<int64_t> &shape, const float *data);
RefTensor fromF16Bits(const std::vector<int64_t> &shape, const uint16_t *data);
RefTensor fromBF16Bits(const std::vector<int64_t> &shape,
                       const uint16_t *data);

/// Result of compareTensors.
struct Comparison {
  /// max |got - want|.
  double maxAbsError = 0;
  /// max |got - want| / max(|want|, floor); infinite when an infinity or NaN
  /// does not match exactly.
  double maxRelError = 0;
  /// Flat index of the element with the largest relative error (-1 if none).
  int64_t worstIndex = -1;
  /// Non-empty when the shapes differ.
  std::string error;
};
/// Compares `got` to `want` elementwise. `floor` keeps near-zero expected
/// values from inflating the relative error; infinities must match exactly.
Comparison compareTensors(const RefTensor &got, const RefTensor &want,
                          double floor);

} // namespace mlir::attn

#endif // ATTN_REFERENCE_REFERENCE_H
