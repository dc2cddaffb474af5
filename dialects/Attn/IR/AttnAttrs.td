//===- AttnAttrs.td - attn attributes ----------------------*- tablegen -*-===//

#ifndef ATTN_ATTRS_TD
#define ATTN_ATTRS_TD

include "AttnDialect.td"
include "mlir/IR/AttrTypeBase.td"
include "mlir/IR/EnumAttr.td"
include "mlir/IR/BuiltinAttributeInterfaces.td"

class Attn_Attr<string name, string attrMnemonic, list<Trait> traits = []>
    : AttrDef<Attn_Dialect, name, traits> {
  let mnemonic = attrMnemonic;
}

//===----------------------------------------------------------------------===//
// Enums
//===----------------------------------------------------------------------===//

def Attn_HeadsPreset : I32EnumAttr<"HeadsPreset", "head grouping preset", [
    I32EnumAttrCase<"custom", 0>, I32EnumAttrCase<"mha", 1>,
    I32EnumAttrCase<"gqa", 2>, I32EnumAttrCase<"mqa", 3>,
    I32EnumAttrCase<"sqa", 4>, I32EnumAttrCase<"ssqa", 5>,
    I32EnumAttrCase<"xsqa", 6>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_CausalMode : I32EnumAttr<"CausalMode", "causal alignment", [
    I32EnumAttrCase<"none", 0>, I32EnumAttrCase<"bottom_right", 1>,
    I32EnumAttrCase<"top_left", 2>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_FeatureMapKind : I32EnumAttr<"FeatureMapKind",
    "linear attention feature map", [
    I32EnumAttrCase<"identity", 0>, I32EnumAttrCase<"elu1", 1>,
    I32EnumAttrCase<"relu", 2>, I32EnumAttrCase<"taylor2", 3>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

def Attn_FeatureMapAttr : EnumAttr<Attn_Dialect, Attn_FeatureMapKind,
                                   "feature_map"> {
  let assemblyFormat = "`<` $value `>`";
}

def Attn_ScheduleStrategy : I32EnumAttr<"ScheduleStrategy", "kernel family", [
    I32EnumAttrCase<"auto_", 0, "auto">, I32EnumAttrCase<"flash", 1>,
    I32EnumAttrCase<"split_kv", 2>, I32EnumAttrCase<"stream_k", 3>]> {
  let cppNamespace = "::mlir::attn";
  let genSpecializedAttr = 0;
}

//===----------------------------------------------------------------------===//
// Head grouping
//===----------------------------------------------------------------------===//

def Attn_HeadsAttr : Attn_Attr<"Heads", "heads"> {
  let summary = "query / key / value head counts";
  let description = [{
    `#attn.heads<q, k, v>` names the head counts; `q` must be a multiple of `k`
    and of `v`. Query head `h` reads key head `h / (q / k)` and value head
    `h / (q / v)`. Presets expand relative to a base head count `H`:
    `mha(H)` = H,H,H; `gqa(H, G)` = H,G,G; `mqa(H)` = H,1,1; `sqa(H)` =
    H/2,H/4,H/4; `ssqa(H)` = H/2,H/2,H/2; `xsqa(H)` = H/4,H/4,H/4.

    ```mlir
    #attn.heads<32, 8, 8>
    #attn.heads<gqa(32, 8)>
    #attn.heads<xsqa(32)>
    ```
  }];
  let parameters = (ins "int64_t":$q, "int64_t":$k, "int64_t":$v,
                        DefaultValuedParameter<"HeadsPreset",
                          "HeadsPreset::custom">:$preset,
                        DefaultValuedParameter<"int64_t", "0">:$base);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Masks
//===----------------------------------------------------------------------===//

def Attn_MaskAttr : Attn_Attr<"Mask", "mask"> {
  let summary = "composable attention mask";
  let description = [{
    A list of parts. All parts intersect, except `sink(N)`, which adds
    `j < N && j <= i_abs` to what the rest keeps. `i_abs = i + (Skv - Sq)`
    (bottom-right alignment) unless the mask is `causal_top_left`.

    - `causal` / `causal_top_left`: keep `j <= i_abs`.
    - `window(L, R)`: keep `i_abs - L <= j <= i_abs + R`.
    - `sink(N)`: attention sinks (StreamingLLM).
    - `document`: keep `doc[j] == doc[i_abs]`; needs the `doc_ids` operand.
    - `blocks(BQ, BKV, "rows")`: static block-sparse layout, rows of `0`/`1`
      joined by `/`, one character per (BQ x BKV) block.
    - `runtime_blocks(BQ, BKV)`: block mask given by the `block_mask` operand.

    ```mlir
    #attn.mask<causal, window(128, 0)>
    #attn.mask<sink(4), window(256, 0)>
    #attn.mask<blocks(64, 64, "10/11")>
    ```
  }];
  let parameters = (ins
    DefaultValuedParameter<"CausalMode", "CausalMode::none">:$causal,
    DefaultValuedParameter<"int64_t", "-1">:$window_left,
    DefaultValuedParameter<"int64_t", "-1">:$window_right,
    DefaultValuedParameter<"int64_t", "0">:$sink,
    DefaultValuedParameter<"bool", "false">:$document,
    DefaultValuedParameter<"int64_t", "0">:$block_q,
    DefaultValuedParameter<"int64_t", "0">:$block_kv,
    StringRefParameter<"block layout rows", "\"\"">:$block_layout,
    DefaultValuedParameter<"bool", "false">:$runtime_blocks);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    bool hasWindow() const { return getWindowLeft() >= 0; }
    bool hasStaticBlocks() const { return !getBlockLayout().empty(); }
    bool isNone() const;
    /// Rows of the static block layout (validated by the verifier).
    ::llvm::SmallVector<::llvm::StringRef> getBlockRows() const;
  }];
}

def Attn_PerHeadMaskAttr : Attn_Attr<"PerHeadMask", "per_head_mask"> {
  let summary = "a mask pattern chosen per query head";
  let description = [{
    `patterns` lists masks; `assign[h]` is the pattern of query head `h`.
    Useful for models that mix retrieval (full causal) heads with streaming
    (sink + window) heads.

    ```mlir
    #attn.per_head_mask<[#attn.mask<causal>, #attn.mask<sink(4), window(64, 0)>], [0, 1, 1, 0]>
    ```
  }];
  let parameters = (ins ArrayRefParameter<"MaskAttr">:$patterns,
                        ArrayRefParameter<"int64_t">:$assign);
  let assemblyFormat = "`<` `[` $patterns `]` `,` `[` $assign `]` `>`";
  let genVerifyDecl = 1;
}

//===----------------------------------------------------------------------===//
// Score modification, normalization, precision, tiling, schedule
//===----------------------------------------------------------------------===//

def Attn_ScoreModAttr : Attn_Attr<"ScoreMod", "score_mod"> {
  let summary = "built-in score modifications, applied in order";
  let description = [{
    Applied to the scaled score `s`, before the mask, in this order:
    `softcap(C)`: `s = C * tanh(s / C)`; `alibi`: `s -= slope_h * |i_abs - j|`;
    `bias`: `s += bias[b, h, i, j]` (needs the `bias` operand).

    ```mlir
    #attn.score_mod<softcap(50.0), alibi>
    ```
  }];
  let parameters = (ins APFloatParameter<"softcap (0 = none)">:$softcap,
                        DefaultValuedParameter<"bool", "false">:$alibi,
                        DefaultValuedParameter<"bool", "false">:$bias);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    double getSoftcapValue() const { return getSoftcap().convertToDouble(); }
    static ScoreModAttr get(::mlir::MLIRContext *ctx, double softcap,
                            bool alibi, bool bias) {
      return get(ctx, ::llvm::APFloat(softcap), alibi, bias);
    }
  }];
}

def Attn_NormAttr : Attn_Attr<"Norm", "norm"> {
  let summary = "row normalization: softmax or sigmoid";
  let description = [{
    `#attn.norm<softmax>` (default) or `#attn.norm<sigmoid(b)>`:
    `p = sigmoid(s + b)` on kept entries, no row normalization.
  }];
  let parameters = (ins DefaultValuedParameter<"bool", "false">:$sigmoid,
                        APFloatParameter<"sigmoid bias">:$sigmoid_bias);
  let hasCustomAssemblyFormat = 1;
  let extraClassDeclaration = [{
    double getSigmoidBiasValue() const {
      return getSigmoidBias().convertToDouble();
    }
    static NormAttr get(::mlir::MLIRContext *ctx, bool sigmoid, double bias) {
      return get(ctx, sigmoid, ::llvm::APFloat(bias));
    }
  }];
}

def Attn_PrecisionAttr : Attn_Attr<"Precision", "precision"> {
  let summary = "accumulator and P-matrix element types";
  let description = [{
    ```mlir
    #attn.precision<acc = f32, p = bf16>
    ```
  }];
  let parameters = (ins "::mlir::Type":$acc, "::mlir::Type":$p);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_TilingAttr : Attn_Attr<"Tiling", "tiling"> {
  let summary = "tile sizes, warps and pipeline stages";
  let description = [{
    ```mlir
    #attn.tiling<block_q = 128, block_kv = 64, warps = 4, stages = 2>
    ```
  }];
  let parameters = (ins "int64_t":$block_q, "int64_t":$block_kv,
                        "int64_t":$warps, "int64_t":$stages);
  let assemblyFormat = "`<` struct(params) `>`";
  let genVerifyDecl = 1;
}

def Attn_ScheduleAttr : Attn_Attr<"Schedule", "schedule"> {
  let summary = "kernel family";
  let description = [{
    `auto`, `flash` (one work item per query tile), `split_kv(N)` (each query
    tile's KV range split in N parts merged by an online-softmax reduction) or
    `stream_k(CTAS)` (LeanAttention: the total KV work spread evenly over CTAS).
  }];
  let parameters = (ins "ScheduleStrategy":$kind,
                        DefaultValuedParameter<"int64_t", "0">:$param);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
}

def Attn_DecayAttr : Attn_Attr<"Decay", "decay"> {
  let summary = "per-head decay of linear attention";
  let description = [{
    `#attn.decay<0.9>`: one lambda for every head; `#attn.decay<alibi>`:
    `lambda_h = exp(-slope_h)` (Lightning Attention).
  }];
  let parameters = (ins DefaultValuedParameter<"bool", "false">:$alibi,
                        APFloatParameter<"lambda">:$value);
  let hasCustomAssemblyFormat = 1;
  let genVerifyDecl = 1;
  let extraClassDeclaration = [{
    double getLambda() const { return getValue().convertToDouble(); }
    static DecayAttr get(::mlir::MLIRContext *ctx, bool alibi, double value) {
      return get(ctx, alibi, ::llvm::APFloat(value));
    }
  }];
}

#endif // ATTN_ATTRS_TD
