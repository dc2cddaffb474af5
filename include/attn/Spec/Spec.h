//===- Spec.h - Attention problem description -------------------*- C++ -*-===//
//
// A plain C++ description of one attention problem: the spec-string grammar of
// `attention-opt --gen` parses into it, the attn dialect attributes convert to
// and from it, and the fp64 reference evaluates it. It deliberately has no MLIR
// dependency so the reference and runtime tools can use it standalone.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_SPEC_SPEC_H
#define ATTN_SPEC_SPEC_H

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::attn {

enum class OpKind { Softmax, Linear };
enum class DType { F32, F16, BF16 };
/// Alignment of the causal diagonal. BottomRight uses i_abs = i + (Skv - Sq).
enum class CausalAlign { None, BottomRight, TopLeft };
enum class NormKind { Softmax, Sigmoid };
enum class GateKind { None, Elementwise, PerHead };
enum class FeatureMap { Identity, Elu1, Relu, Taylor2 };
enum class DecayKind { None, Constant, Alibi };
enum class ScheduleKind { Auto, Flash, SplitKV, StreamK };
/// Presets of the head grouping, relative to a base head count H.
enum class HeadPreset { Custom, MHA, GQA, MQA, SQA, SSQA, XSQA };

/// One mask pattern. The parts intersect, except `sink`, which is OR-ed in
/// (StreamingLLM): keep(i, j) = rest(i, j) || (j < sink && j <= i_abs).
/// Positions: i_abs = i + (Skv - Sq) unless causal is TopLeft, then i_abs = i.
struct MaskSpec {
  CausalAlign causal = CausalAlign::None;
  /// Sliding window: keep i_abs - windowLeft <= j <= i_abs + windowRight.
  bool hasWindow = false;
  int64_t windowLeft = 0;
  int64_t windowRight = 0;
  int64_t sink = 0;
  /// Document mask: keep when docIds[b][j] == docIds[b][i_abs] (one id array of
  /// length Skv per batch; a query whose i_abs is outside [0, Skv) is masked).
  bool document = false;
  /// Static block-sparse layout over (ceil(Sq/blockQ), ceil(Skv/blockKV)) blocks,
  /// row-major, 1 = keep block. Empty means no static block layout.
  int64_t blockQ = 0, blockKV = 0;
  std::vector<uint8_t> blockLayout;
  int64_t blockRows = 0, blockCols = 0;
  /// Runtime block mask operand [B, Hq, ceil(Sq/blockQ), ceil(Skv/blockKV)] i8.
  bool runtimeBlocks = false;

  bool isNone() const {
    return causal == CausalAlign::None && !hasWindow && sink == 0 && !document &&
           blockLayout.empty() && !runtimeBlocks;
  }
  bool operator==(const MaskSpec &o) const;
  bool operator!=(const MaskSpec &o) const { return !(*this == o); }
};

/// Problem description of attn.attention (Softmax) or attn.linear_attention.
struct AttentionSpec {
  OpKind kind = OpKind::Softmax;
  std::string name; // optional kernel name
  int64_t batch = 1;
  int64_t hq = 1, hk = 1, hv = 1; // Linear: hq == hk == hv == H
  HeadPreset headPreset = HeadPreset::Custom;
  int64_t headBase = 0;              // base H of a preset
  int64_t sq = 1, skv = 1;           // Linear: sq == skv == S
  int64_t dqk = 64, dv = 64;         // Linear: Dk, Dv
  DType dtype = DType::F32;

  // Softmax attention.
  MaskSpec mask;                     // used when perHead is empty
  std::vector<MaskSpec> perHead;     // per-head patterns
  std::vector<int64_t> perHeadAssign;// size hq: index into perHead
  std::optional<double> scale;       // default 1/sqrt(dqk) (softmax), 1 (linear)
  double softcap = 0;                // 0 = none
  bool alibi = false;
  bool bias = false;                 // additive bias input [B, Hq, Sq, Skv]
  NormKind norm = NormKind::Softmax;
  double sigmoidBias = 0;
  GateKind gate = GateKind::None;
  bool lse = false;

  // Linear attention.
  FeatureMap feature = FeatureMap::Identity;
  DecayKind decay = DecayKind::None;
  double decayValue = 0;             // lambda for DecayKind::Constant
  bool causal = true;                // Linear only (softmax uses mask)
  bool normSum = false;
  bool stateIn = false, stateOut = false;

  // Tiling / schedule (0 = chosen by the compiler).
  int64_t blockQ = 0, blockKV = 0, warps = 0, stages = 0;
  ScheduleKind schedule = ScheduleKind::Auto;
  int64_t scheduleParam = 0;         // split count or CTA count
  /// Query heads of a K/V head packed into one tile's rows (pack_gqa);
  /// unset: the compiler's choice.
  std::optional<bool> packGqa;

  /// Query heads that read one K head and one V head: Hq / max(Hk, Hv),
  /// the group pack_gqa packs into a tile.
  int64_t headGroup() const { return hq / std::max(hk, hv); }
  /// Mask of query head h (perHead-aware).
  const MaskSpec &maskForHead(int64_t h) const;
  /// Effective score scale.
  double effectiveScale() const;
  /// Feature dimension after the feature map (taylor2: 1 + Dk + Dk^2).
  int64_t featureDim() const;

  /// True when any head's mask uses document ids (so the docIds input
  /// [B, Skv] is needed).
  bool usesDocument() const;
  /// The first mask (spec.mask or a per-head pattern) with a runtime block
  /// mask, or nullptr. validateSpec makes all of them agree on the block size,
  /// so this one gives the operand shape [B, Hq, ceil(Sq/BQ), ceil(Skv/BK)].
  const MaskSpec *runtimeBlockMask() const;
  /// Field-wise equality (parseSpec(printSpec(s)) == s).
  bool operator==(const AttentionSpec &o) const;
  bool operator!=(const AttentionSpec &o) const { return !(*this == o); }
};

/// Parses a spec string (`key=value` words separated by spaces; grammar in
/// docs/spec-grammar.md). On failure returns false and sets `error` to a
/// message naming the offending word.
bool parseSpec(const std::string &text, AttentionSpec &out, std::string &error);

/// Prints the canonical spec string; parseSpec(printSpec(s)) reproduces s.
std::string printSpec(const AttentionSpec &spec);

/// Checks semantic consistency (divisibility, positive sizes, features that
/// need each other). Returns an empty string when valid, else the message.
std::string validateSpec(const AttentionSpec &spec);

/// ALiBi slope of head h out of n heads (ALiBi paper, interleaving rule when n
/// is not a power of two).
double alibiSlope(int64_t h, int64_t n);

const char *toString(DType t);
/// Bytes of one element of `t`.
inline int64_t dtypeBytes(DType t) { return t == DType::F32 ? 4 : 2; }

/// Prints one mask pattern in the spec grammar (`causal+window:3`, `none`).
std::string printMask(const MaskSpec &mask);

} // namespace mlir::attn

#endif // ATTN_SPEC_SPEC_H
