//===- AttnOps.td - attn operations ------------------------*- tablegen -*-===//

#ifndef ATTN_OPS_TD
#define ATTN_OPS_TD

include "AttnDialect.td"
include "AttnAttrs.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/Interfaces/ControlFlowInterfaces.td"

def Attn_AttentionOp : Attn_Op<"attention",
    [AttrSizedOperandSegments, Pure, RecursiveMemoryEffects]> {
  let summary = "softmax (or sigmoid) attention over grouped heads";
  let description = [{
    `O[b, h, i, :] = sum_j P[b, h, i, j] * V[b, h / (Hq / Hv), j, :]` with
    `S = scale * Q K^T` (default scale `1 / sqrt(Dqk)`, key head
    `h / (Hq / Hk)`), then `score_mod` (or the `score_fn` region), then the
    mask (`mask` attribute intersected with the `mask_fn` region), then
    softmax over `j` (or an element-wise sigmoid), then the optional gate
    epilogue `O *= sigmoid(G)`. The optional second result is the natural-log
    LSE of each row (`-inf` and `O = 0` for a fully masked row).

    Shapes: Q `[B, Hq, Sq, Dqk]`, K `[B, Hk, Skv, Dqk]`, V `[B, Hv, Skv, Dv]`,
    O `[B, Hq, Sq, Dv]`, LSE `[B, Hq, Sq]` (f32). Optional operands: `gate`
    `[B, Hq, Sq, Dv]` or `[B, Hq, Sq, 1]`, `bias` `[B, Hq, Sq, Skv]`,
    `doc_ids` `[B, Skv]` (i32), `block_mask` `[B, Hq, ceil(Sq/BQ),
    ceil(Skv/BKV)]` (i8). Head and head-dim sizes must be static; batch and
    sequence lengths may be dynamic.

    `pack_gqa` (a schedule choice; absent: `attn-select-schedule` decides)
    packs the query heads that share a key and value head into the rows of
    one query tile, as FlashAttention-3 and FlashDecoding do for decode:
    packed row `r` of the group of heads `[c G, (c + 1) G)`, `G = Hq /
    max(Hk, Hv)`, is query row `r / G` of head `c G + r % G`, so the group
    reads each K / V tile once and a decode tile holds G live rows instead
    of one. It needs G > 1 and a mask that is the same for every head with
    no block layout (tiles are classified for the whole group). The NVIDIA
    kernels and the CPU tile program implement it; the AMD kernel ignores
    it with a warning.

    Regions: `mask_fn` takes `(b, h, q_idx, kv_idx : index)` and yields `i1`
    (`q_idx` is absolute, `i_abs`); `score_fn` takes the same plus the score
    `f32` and yields the new score.

    ```mlir
    %o, %lse = attn.attention %q, %k, %v {
        heads = #attn.heads<gqa(32, 8)>, mask = #attn.mask<causal>,
        score_mod = #attn.score_mod<softcap(50.0)>}
      : tensor<2x32x4096x128xbf16>, tensor<2x8x4096x128xbf16>,
        tensor<2x8x4096x128xbf16> -> tensor<2x32x4096x128xbf16>,
        tensor<2x32x4096xf32>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
    Optional<AnyRankedTensor>:$gate,
    Optional<AnyRankedTensor>:$bias,
    Optional<AnyRankedTensor>:$doc_ids,
    Optional<AnyRankedTensor>:$block_mask,
    OptionalAttr<Attn_HeadsAttr>:$heads,
    OptionalAttr<AnyAttrOf<[Attn_MaskAttr, Attn_PerHeadMaskAttr]>>:$mask,
    OptionalAttr<F64Attr>:$scale,
    OptionalAttr<Attn_ScoreModAttr>:$score_mod,
    OptionalAttr<Attn_NormAttr>:$norm,
    OptionalAttr<Attn_PrecisionAttr>:$precision,
    OptionalAttr<Attn_TilingAttr>:$tiling,
    OptionalAttr<Attn_ScheduleAttr>:$schedule,
    OptionalAttr<BoolAttr>:$pack_gqa);
  let results = (outs AnyRankedTensor:$output,
                      Optional<AnyRankedTensor>:$lse);
  let regions = (region AnyRegion:$mask_fn, AnyRegion:$score_fn);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`gate` `(` $gate^ `:` type($gate) `)`)?
    (`bias` `(` $bias^ `:` type($bias) `)`)?
    (`doc_ids` `(` $doc_ids^ `:` type($doc_ids) `)`)?
    (`block_mask` `(` $block_mask^ `:` type($block_mask) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
    `->` type($output) (`,` type($lse)^)?
    (`mask_fn` $mask_fn^)? (`score_fn` $score_fn^)?
  }];
  let hasVerifier = 1;
  let hasRegionVerifier = 1;
  let extraClassDeclaration = [{
    int64_t getNumQueryHeads() { return getQuery().getType().getDimSize(1); }
    int64_t getNumKeyHeads() { return getKey().getType().getDimSize(1); }
    int64_t getNumValueHeads() { return getValue().getType().getDimSize(1); }
    int64_t getHeadDimQK() { return getQuery().getType().getDimSize(3); }
    int64_t getHeadDimV() { return getValue().getType().getDimSize(3); }
    /// Every mask pattern of the op (one, or one per distinct per-head entry).
    ::llvm::SmallVector<MaskAttr> getMaskPatterns();
    /// Query heads per packed group under pack_gqa: Hq / max(Hk, Hv).
    int64_t getPackGroup() {
      return getNumQueryHeads() /
             std::max(getNumKeyHeads(), getNumValueHeads());
    }
    /// Why the heads cannot be packed (pack_gqa), or "" when they can.
    std::string whyHeadsCannotPack();
    /// Whether pack_gqa is set to true.
    bool packsHeads() {
      return getPackGqaAttr() && getPackGqaAttr().getValue();
    }
    /// Score scale actually applied (attribute or 1/sqrt(Dqk)).
    double getEffectiveScale();
  }];
}

def Attn_LinearAttentionOp : Attn_Op<"linear_attention", [Pure]> {
  let summary = "kernelized (linear) attention with optional decay";
  let description = [{
    Causal: `o_t = sum_{s <= t} lambda^(t-s) (phi(q_t) . phi(k_s)) v_s`;
    non-causal sums over every `s` without decay. `normalize` divides by the
    same sum with `v_s` replaced by 1 (a zero sum gives 0). `state_in`
    `[B, H, F, Dv]` (`F` = feature dimension, `Dv + 1` columns with
    `normalize`, the last one the normalizer) seeds the recurrence; the optional
    second result returns the final state, so prefill and recurrent decode
    share one op. `schedule` is `flash` (each (batch, head) walks its
    sequence whole) or `split_kv(N)`: the sequence in N segments walked in
    parallel, each seeded with the states of the segments before it
    (causal) or of all of them.

    ```mlir
    %o = attn.linear_attention %q, %k, %v {
        feature = #attn.feature_map<elu1>, decay = #attn.decay<alibi>, causal}
      : tensor<1x8x2048x64xf16>, tensor<1x8x2048x64xf16>,
        tensor<1x8x2048x64xf16> -> tensor<1x8x2048x64xf16>
    ```
  }];
  let arguments = (ins
    AnyRankedTensor:$query, AnyRankedTensor:$key, AnyRankedTensor:$value,
    Optional<AnyRankedTensor>:$state_in,
    DefaultValuedAttr<Attn_FeatureMapAttr, "FeatureMapKind::identity">:$feature,
    OptionalAttr<Attn_DecayAttr>:$decay,
    UnitAttr:$causal,
    UnitAttr:$normalize,
    OptionalAttr<F64Attr>:$scale,
    OptionalAttr<Attn_TilingAttr>:$tiling,
    OptionalAttr<Attn_ScheduleAttr>:$schedule);
  let results = (outs AnyRankedTensor:$output,
                      Optional<AnyRankedTensor>:$state_out);
  let assemblyFormat = [{
    $query `,` $key `,` $value
    (`state` `(` $state_in^ `:` type($state_in) `)`)?
    attr-dict `:` type($query) `,` type($key) `,` type($value)
    `->` type($output) (`,` type($state_out)^)?
  }];
  let hasVerifier = 1;
  let extraClassDeclaration = [{
    /// Width of phi(x): Dk, or 1 + Dk + Dk^2 for taylor2.
    int64_t getFeatureDim();
  }];
}

def Attn_YieldOp : Attn_Op<"yield",
    [Pure, Terminator, ReturnLike, HasParent<"AttentionOp">]> {
  let summary = "terminator of the mask_fn and score_fn regions";
  let arguments = (ins Variadic<AnyType>:$values);
  let assemblyFormat = "($values^ `:` type($values))? attr-dict";
}

#endif // ATTN_OPS_TD
