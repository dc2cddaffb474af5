//===- SpecTest.cpp - Spec grammar, printer and validator tests -----------===//

#include "attn/Spec/Spec.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace mlir::attn;

namespace {

AttentionSpec parseOk(const std::string &text) {
  AttentionSpec s;
  std::string err;
  EXPECT_TRUE(parseSpec(text, s, err)) << text << ": " << err;
  return s;
}

/// Parses `text`, expects failure, returns the error.
std::string parseErr(const std::string &text) {
  AttentionSpec s;
  std::string err;
  EXPECT_FALSE(parseSpec(text, s, err)) << text << " parsed";
  return err;
}

/// Parses a syntactically valid spec and returns the validation message.
std::string validateErr(const std::string &text) {
  return validateSpec(parseOk(text));
}

//===----------------------------------------------------------------------===//
// Parsing
//===----------------------------------------------------------------------===//

TEST(SpecParse, Defaults) {
  AttentionSpec s = parseOk("");
  EXPECT_EQ(s, AttentionSpec());
  EXPECT_EQ(s.kind, OpKind::Softmax);
  EXPECT_EQ(s.dtype, DType::F32);
  EXPECT_TRUE(s.mask.isNone());
  EXPECT_EQ(validateSpec(s), "");
}

TEST(SpecParse, Sizes) {
  AttentionSpec s =
      parseOk("name=k_1 batch=2 heads=32:8 seq=128:512 dim=128:64 dtype=bf16");
  EXPECT_EQ(s.name, "k_1");
  EXPECT_EQ(s.batch, 2);
  EXPECT_EQ(s.hq, 32);
  EXPECT_EQ(s.hk, 8);
  EXPECT_EQ(s.hv, 8);
  EXPECT_EQ(s.sq, 128);
  EXPECT_EQ(s.skv, 512);
  EXPECT_EQ(s.dqk, 128);
  EXPECT_EQ(s.dv, 64);
  EXPECT_EQ(s.dtype, DType::BF16);
  EXPECT_EQ(s.headPreset, HeadPreset::Custom);

  s = parseOk("heads=8 seq=64 dim=32 dtype=f16");
  EXPECT_EQ(s.hq, 8);
  EXPECT_EQ(s.hk, 8);
  EXPECT_EQ(s.hv, 8);
  EXPECT_EQ(s.sq, 64);
  EXPECT_EQ(s.skv, 64);
  EXPECT_EQ(s.dqk, 32);
  EXPECT_EQ(s.dv, 32);
  EXPECT_EQ(s.dtype, DType::F16);

  s = parseOk("heads=8:4:2");
  EXPECT_EQ(s.hq, 8);
  EXPECT_EQ(s.hk, 4);
  EXPECT_EQ(s.hv, 2);
}

TEST(SpecParse, HeadPresets) {
  struct Case {
    const char *text;
    HeadPreset preset;
    int64_t base, hq, hk, hv;
  };
  const Case cases[] = {
      {"heads=mha:16", HeadPreset::MHA, 16, 16, 16, 16},
      {"heads=gqa:32:8", HeadPreset::GQA, 32, 32, 8, 8},
      {"heads=mqa:16", HeadPreset::MQA, 16, 16, 1, 1},
      {"heads=sqa:16", HeadPreset::SQA, 16, 8, 4, 4},
      {"heads=ssqa:16", HeadPreset::SSQA, 16, 8, 8, 8},
      {"heads=xsqa:16", HeadPreset::XSQA, 16, 4, 4, 4},
  };
  for (const Case &c : cases) {
    AttentionSpec s = parseOk(c.text);
    EXPECT_EQ(s.headPreset, c.preset) << c.text;
    EXPECT_EQ(s.headBase, c.base) << c.text;
    EXPECT_EQ(s.hq, c.hq) << c.text;
    EXPECT_EQ(s.hk, c.hk) << c.text;
    EXPECT_EQ(s.hv, c.hv) << c.text;
    EXPECT_EQ(validateSpec(s), "") << c.text;
  }
  EXPECT_NE(parseErr("heads=sqa:6").find("'heads=sqa:6'"), std::string::npos);
  EXPECT_NE(parseErr("heads=gqa:8").find("gqa:H:G"), std::string::npos);
  EXPECT_NE(parseErr("heads=mqa:8:2").find("'heads=mqa:8:2'"),
            std::string::npos);
}

TEST(SpecParse, MaskParts) {
  AttentionSpec s = parseOk("mask=causal");
  EXPECT_EQ(s.mask.causal, CausalAlign::BottomRight);
  s = parseOk("mask=causal-topleft");
  EXPECT_EQ(s.mask.causal, CausalAlign::TopLeft);
  s = parseOk("mask=none");
  EXPECT_TRUE(s.mask.isNone());

  s = parseOk("mask=window:128");
  EXPECT_TRUE(s.mask.hasWindow);
  EXPECT_EQ(s.mask.windowLeft, 128);
  EXPECT_EQ(s.mask.windowRight, 0);
  s = parseOk("mask=window:2:1");
  EXPECT_EQ(s.mask.windowLeft, 2);
  EXPECT_EQ(s.mask.windowRight, 1);

  s = parseOk("mask=causal+window:64+sink:4+document");
  EXPECT_EQ(s.mask.causal, CausalAlign::BottomRight);
  EXPECT_TRUE(s.mask.hasWindow);
  EXPECT_EQ(s.mask.windowLeft, 64);
  EXPECT_EQ(s.mask.sink, 4);
  EXPECT_TRUE(s.mask.document);

  s = parseOk("seq=32:32 mask=blocks:16x16:10/11");
  EXPECT_EQ(s.mask.blockQ, 16);
  EXPECT_EQ(s.mask.blockKV, 16);
  EXPECT_EQ(s.mask.blockRows, 2);
  EXPECT_EQ(s.mask.blockCols, 2);
  EXPECT_EQ(s.mask.blockLayout, (std::vector<uint8_t>{1, 0, 1, 1}));
  EXPECT_FALSE(s.mask.runtimeBlocks);
  EXPECT_EQ(validateSpec(s), "");

  s = parseOk("seq=256 mask=causal+blockmask:64x128");
  EXPECT_TRUE(s.mask.runtimeBlocks);
  EXPECT_EQ(s.mask.blockQ, 64);
  EXPECT_EQ(s.mask.blockKV, 128);
  EXPECT_TRUE(s.mask.blockLayout.empty());
  ASSERT_NE(s.runtimeBlockMask(), nullptr);
  EXPECT_EQ(validateSpec(s), "");

  // Static and runtime blocks together share one block size.
  s = parseOk("seq=4 mask=blocks:2x2:10/11+blockmask:2x2");
  EXPECT_TRUE(s.mask.runtimeBlocks);
  EXPECT_EQ(s.mask.blockLayout.size(), 4u);
}

TEST(SpecParse, PerHead) {
  AttentionSpec s = parseOk("heads=4 mask=perhead[causal;window:8+sink:2]");
  ASSERT_EQ(s.perHead.size(), 2u);
  EXPECT_TRUE(s.mask.isNone());
  EXPECT_EQ(s.perHead[0].causal, CausalAlign::BottomRight);
  EXPECT_EQ(s.perHead[1].windowLeft, 8);
  EXPECT_EQ(s.perHead[1].sink, 2);
  // Default assignment is h % npatterns, filled even when heads= comes later.
  EXPECT_EQ(s.perHeadAssign, (std::vector<int64_t>{0, 1, 0, 1}));
  EXPECT_EQ(&s.maskForHead(3), &s.perHead[1]);
  EXPECT_EQ(validateSpec(s), "");

  s = parseOk("mask=perhead[causal;none]@1,1,0 heads=3");
  EXPECT_EQ(s.perHeadAssign, (std::vector<int64_t>{1, 1, 0}));
  EXPECT_TRUE(s.maskForHead(0).isNone());
  EXPECT_EQ(s.maskForHead(2).causal, CausalAlign::BottomRight);
  EXPECT_EQ(validateSpec(s), "");

  // A spec built in code may leave the assignment empty: round-robin.
  AttentionSpec c;
  c.hq = 3;
  c.perHead = {MaskSpec(), MaskSpec()};
  c.perHead[1].causal = CausalAlign::TopLeft;
  EXPECT_EQ(c.maskForHead(1).causal, CausalAlign::TopLeft);
  EXPECT_EQ(c.maskForHead(2).causal, CausalAlign::None);
  EXPECT_EQ(validateSpec(c), "");
}

TEST(SpecParse, ScoreNormGateLse) {
  AttentionSpec s =
      parseOk("score=softcap:30+alibi+bias scale=0.125 norm=sigmoid:-2.5 "
              "gate=1");
  EXPECT_EQ(s.softcap, 30);
  EXPECT_TRUE(s.alibi);
  EXPECT_TRUE(s.bias);
  ASSERT_TRUE(s.scale.has_value());
  EXPECT_EQ(*s.scale, 0.125);
  EXPECT_EQ(s.effectiveScale(), 0.125);
  EXPECT_EQ(s.norm, NormKind::Sigmoid);
  EXPECT_EQ(s.sigmoidBias, -2.5);
  EXPECT_EQ(s.gate, GateKind::Elementwise);

  s = parseOk("dim=64 norm=sigmoid gate=head lse=0");
  EXPECT_EQ(s.norm, NormKind::Sigmoid);
  EXPECT_EQ(s.sigmoidBias, 0);
  EXPECT_EQ(s.gate, GateKind::PerHead);
  EXPECT_FALSE(s.lse);
  EXPECT_EQ(s.effectiveScale(), 0.125); // 1/sqrt(64)

  s = parseOk("norm=softmax gate=0 lse=1");
  EXPECT_EQ(s.norm, NormKind::Softmax);
  EXPECT_EQ(s.gate, GateKind::None);
  EXPECT_TRUE(s.lse);
}

TEST(SpecParse, Linear) {
  AttentionSpec s =
      parseOk("kind=linear heads=4 seq=64 dim=16:32 feature=taylor2 "
              "decay=0.95 norm=sum state=inout mask=causal");
  EXPECT_EQ(s.kind, OpKind::Linear);
  EXPECT_EQ(s.hq, 4);
  EXPECT_EQ(s.hk, 4);
  EXPECT_EQ(s.hv, 4);
  EXPECT_EQ(s.feature, FeatureMap::Taylor2);
  EXPECT_EQ(s.featureDim(), 1 + 16 + 256);
  EXPECT_EQ(s.decay, DecayKind::Constant);
  EXPECT_EQ(s.decayValue, 0.95);
  EXPECT_TRUE(s.normSum);
  EXPECT_TRUE(s.stateIn);
  EXPECT_TRUE(s.stateOut);
  EXPECT_TRUE(s.causal);
  EXPECT_EQ(s.effectiveScale(), 1.0);
  EXPECT_EQ(validateSpec(s), "");

  // kind may come after the keys it changes the meaning of.
  s = parseOk("mask=none norm=none feature=elu1 kind=linear state=out");
  EXPECT_EQ(s.kind, OpKind::Linear);
  EXPECT_FALSE(s.causal);
  EXPECT_FALSE(s.normSum);
  EXPECT_EQ(s.feature, FeatureMap::Elu1);
  EXPECT_FALSE(s.stateIn);
  EXPECT_TRUE(s.stateOut);

  s = parseOk("kind=linear feature=relu decay=alibi state=in");
  EXPECT_EQ(s.feature, FeatureMap::Relu);
  EXPECT_EQ(s.decay, DecayKind::Alibi);
  EXPECT_TRUE(s.stateIn);
  EXPECT_FALSE(s.stateOut);
  s = parseOk("kind=linear feature=identity decay=none state=none");
  EXPECT_EQ(s.decay, DecayKind::None);
  EXPECT_EQ(s.featureDim(), s.dqk);
}

TEST(SpecParse, Tiling) {
  AttentionSpec s =
      parseOk("tile=128x64 warps=8 stages=3 schedule=split_kv:4");
  EXPECT_EQ(s.blockQ, 128);
  EXPECT_EQ(s.blockKV, 64);
  EXPECT_EQ(s.warps, 8);
  EXPECT_EQ(s.stages, 3);
  EXPECT_EQ(s.schedule, ScheduleKind::SplitKV);
  EXPECT_EQ(s.scheduleParam, 4);
  EXPECT_EQ(parseOk("schedule=stream_k:132").schedule, ScheduleKind::StreamK);
  EXPECT_EQ(parseOk("schedule=stream_k:132").scheduleParam, 132);
  EXPECT_EQ(parseOk("schedule=flash").schedule, ScheduleKind::Flash);
  EXPECT_EQ(parseOk("schedule=auto").schedule, ScheduleKind::Auto);
  EXPECT_FALSE(parseOk("heads=gqa:8:2").packGqa.has_value());
  EXPECT_EQ(parseOk("heads=gqa:8:2 pack_gqa=1").packGqa, true);
  EXPECT_EQ(parseOk("heads=gqa:8:2 pack_gqa=0").packGqa, false);
  // A KV tile past powers of two: whole multiples of 16 (FlashAttention-3's
  // 176 columns at head dim 128).
  AttentionSpec wide = parseOk("dim=128 tile=128x176 warps=8");
  EXPECT_EQ(wide.blockKV, 176);
  EXPECT_EQ(validateSpec(wide), "");
  EXPECT_EQ(validateSpec(parseOk("tile=64x48")), "");
}

TEST(SpecParse, WhitespaceAndNewlines) {
  AttentionSpec s = parseOk("  batch=2\theads=4:2\n seq=9 \n");
  EXPECT_EQ(s.batch, 2);
  EXPECT_EQ(s.hk, 2);
  EXPECT_EQ(s.sq, 9);
}

//===----------------------------------------------------------------------===//
// Errors: each names the offending word
//===----------------------------------------------------------------------===//

TEST(SpecErrors, NameTheWord) {
  struct Case {
    const char *text;
    const char *needle; // must appear in the message
  };
  const Case cases[] = {
      {"foo=3", "unknown key 'foo' in 'foo=3'"},
      {"batch=4x", "bad number '4x' in 'batch=4x'"},
      {"batch=", "bad number '' in 'batch='"},
      {"batch=99999999999999999999", "'batch=99999999999999999999'"},
      {"heads=a:2", "bad number 'a' in 'heads=a:2'"},
      {"heads=1:2:3:4", "'heads=1:2:3:4'"},
      {"seq=1:2:3", "'seq=1:2:3'"},
      {"dim=8:", "bad number '' in 'dim=8:'"},
      {"dtype=f64", "bad value 'f64' for 'dtype' in 'dtype=f64'"},
      {"kind=quadratic", "bad value 'quadratic' for 'kind'"},
      {"name=9lives", "bad value '9lives' for 'name'"},
      {"batch", "expected key=value, got 'batch'"},
      {"=3", "expected key=value, got '=3'"},
      {"batch=1 batch=2", "duplicate key 'batch' in 'batch=2'"},
      {"mask=causl", "unknown mask part 'causl' in 'mask=causl'"},
      {"mask=causal+", "empty mask part"},
      {"mask=window", "bad mask part 'window' in 'mask=window'"},
      {"mask=window:x", "bad number 'x' in 'mask=window:x'"},
      {"mask=sink:1:2", "bad mask part 'sink:1:2'"},
      {"mask=causal+causal-topleft", "repeats causal"},
      {"mask=none+causal", "'none' cannot be combined"},
      {"score=alibi+alibi", "score part 'alibi' given twice in 'alibi+alibi'"},
      {"score=softcap:5+softcap:6", "score part 'softcap' given twice"},
      {"score=none+alibi", "score 'none' cannot be combined in 'none+alibi'"},
      {"mask=blocks:16:10", "bad block size '16' (expected BQxBK) in "
                               "'mask=blocks:16:10'"},
      {"mask=blocks:16x16", "bad mask part 'blocks:16x16'"},
      {"mask=blocks:16:1:10", "bad mask part 'blocks:16:1:10'"},
      {"mask=blocks:ax2:10", "bad number 'ax2'"},
      {"mask=blocks:2x2:10/1", "rows of equal"},
      {"mask=blocks:2x2:12", "only 0 and 1"},
      {"mask=blocks:2x2:1+blockmask:4x4", "different from 2x2"},
      {"mask=perhead[causal", "missing ']'"},
      {"mask=perhead[]", "at least one pattern"},
      {"mask=perhead[causal;]", "empty perhead pattern"},
      {"mask=perhead[causal;bogus]", "unknown mask part 'bogus'"},
      {"mask=perhead[causal]x", "expected '@a,b,...'"},
      {"mask=perhead[causal]@0,z", "bad number 'z'"},
      {"score=alibi+rope", "unknown score part 'rope' in 'score=alibi+rope'"},
      {"score=softcap:abc", "bad number 'abc'"},
      {"score=softcap:0", "softcap must be > 0"},
      {"scale=nan", "bad number 'nan' in 'scale=nan'"},
      {"scale=1e999", "bad number '1e999'"},
      {"scale=1e-999", "bad number '1e-999'"},
      {"scale=0x10", "bad number '0x10'"},
      {"norm=sum", "bad value 'sum' for 'norm'"},
      {"norm=sigmoid:q", "bad number 'q' in 'norm=sigmoid:q'"},
      {"gate=2", "bad value '2' for 'gate'"},
      {"lse=yes", "bad value 'yes' for 'lse'"},
      {"feature=cosine", "bad value 'cosine' for 'feature'"},
      {"decay=fast", "bad number 'fast' in 'decay=fast'"},
      {"state=both", "bad value 'both' for 'state'"},
      {"tile=128", "bad value '128' for 'tile'"},
      {"tile=128xq", "bad number '128xq'"},
      {"warps=four", "bad number 'four'"},
      {"schedule=split_kv", "bad value 'split_kv' for 'schedule'"},
      {"schedule=split_kv:n", "bad number 'n'"},
      {"pack_gqa=yes", "bad value 'yes' for 'pack_gqa'"},
      {"kind=linear mask=window:4", "mask=causal or mask=none"},
      {"kind=linear norm=sigmoid", "bad value 'sigmoid' for 'norm'"},
  };
  for (const Case &c : cases) {
    std::string err = parseErr(c.text);
    EXPECT_NE(err.find(c.needle), std::string::npos)
        << "input: " << c.text << "\nerror: " << err
        << "\nexpected to contain: " << c.needle;
  }
}

TEST(SpecErrors, NeverCrashesOnPrefixes) {
  // Every prefix of a spec using the whole grammar either parses or gives an
  // error naming a word; none may crash (run under sanitizers too).
  const std::string full =
      "kind=softmax name=n batch=2 heads=gqa:8:2 seq=32:48 dim=16:8 "
      "dtype=bf16 mask=perhead[causal+window:4:1+sink:2;document+blocks:"
      "16x16:101/011+blockmask:16x16]@0,1,1,0,1,0,0,1 score=softcap:30+alibi+"
      "bias scale=0.25 norm=sigmoid:-1 gate=head tile=64x32 warps=4 stages=2 "
      "schedule=stream_k:8";
  AttentionSpec s;
  std::string err;
  ASSERT_TRUE(parseSpec(full, s, err)) << err;
  EXPECT_EQ(validateSpec(s), "");
  for (size_t n = 0; n < full.size(); ++n) {
    err.clear();
    if (!parseSpec(full.substr(0, n), s, err)) {
      EXPECT_NE(err.find('\''), std::string::npos) << full.substr(0, n);
    } else {
      (void)validateSpec(s);
    }
  }
}

TEST(SpecErrors, OutputUntouchedOnFailure) {
  AttentionSpec s;
  s.batch = 7;
  std::string err;
  EXPECT_FALSE(parseSpec("batch=3 foo=1", s, err));
  EXPECT_EQ(s.batch, 7);
}

//===----------------------------------------------------------------------===//
// Printing
//===----------------------------------------------------------------------===//

TEST(SpecPrint, Canonical) {
  EXPECT_EQ(printSpec(AttentionSpec()),
            "kind=softmax batch=1 heads=1 seq=1 dim=64 dtype=f32");
  EXPECT_EQ(printSpec(parseOk("dtype=bf16 mask=causal heads=32:8 dim=128")),
            "kind=softmax batch=1 heads=32:8 seq=1 dim=128 dtype=bf16 "
            "mask=causal");
  EXPECT_EQ(printSpec(parseOk("mask=sink:4+window:2+causal")),
            "kind=softmax batch=1 heads=1 seq=1 dim=64 dtype=f32 "
            "mask=causal+window:2+sink:4");
  EXPECT_EQ(printSpec(parseOk("kind=linear heads=2 seq=9 dim=4 mask=causal "
                              "feature=elu1 decay=0.9 norm=sum")),
            "kind=linear batch=1 heads=2 seq=9 dim=4 dtype=f32 norm=sum "
            "feature=elu1 decay=0.9");
  EXPECT_EQ(printSpec(parseOk("heads=4 mask=perhead[causal;none]")),
            "kind=softmax batch=1 heads=4 seq=1 dim=64 dtype=f32 "
            "mask=perhead[causal;none]");
  EXPECT_EQ(printSpec(parseOk("heads=3 mask=perhead[causal;none]@1,1,0")),
            "kind=softmax batch=1 heads=3 seq=1 dim=64 dtype=f32 "
            "mask=perhead[causal;none]@1,1,0");
  EXPECT_EQ(printMask(MaskSpec()), "none");
}

TEST(SpecPrint, RoundTrip) {
  const char *specs[] = {
      "",
      "kind=softmax name=gqa_causal batch=2 heads=32:8 seq=1024 dim=128 "
      "dtype=bf16 mask=causal lse=1",
      "heads=gqa:32:8 seq=1:4096 dim=128 mask=causal schedule=split_kv:16",
      "heads=mha:12",
      "heads=mqa:16 dim=128:64",
      "heads=sqa:32",
      "heads=ssqa:32",
      "heads=xsqa:32",
      "heads=8:4:2 seq=7 dim=6",
      "heads=4 seq=4096 mask=causal-topleft+window:256:16+sink:4",
      "seq=48:40 mask=document+blocks:16x16:100/110/011+blockmask:16x16",
      "heads=4 mask=perhead[causal;window:8+sink:2;document]@2,0,1,1",
      "score=softcap:50+alibi+bias scale=0.0883883476483184 norm=sigmoid:-1.5 "
      "gate=head",
      "score=alibi norm=sigmoid gate=1",
      "scale=0.1 tile=128x64 warps=8 stages=3 schedule=stream_k:132",
      "tile=128x176 warps=8",
      "schedule=flash",
      "heads=gqa:32:8 seq=1:4096 pack_gqa=1",
      "heads=gqa:32:8 pack_gqa=0",
      "kind=linear heads=8 seq=512 dim=64:128 mask=none feature=taylor2",
      "kind=linear heads=8 seq=512 dim=64 feature=relu decay=alibi "
      "state=inout norm=sum",
      "kind=linear heads=2 seq=16 dim=4 decay=0.95 state=in scale=0.5",
      "kind=linear heads=2 seq=16 dim=4 state=out",
      "kind=linear heads=2 seq=1030 dim=64 decay=0.9 schedule=split_kv:4",
  };
  for (const char *text : specs) {
    AttentionSpec a = parseOk(text);
    EXPECT_EQ(validateSpec(a), "") << text;
    std::string printed = printSpec(a);
    AttentionSpec b = parseOk(printed);
    EXPECT_EQ(a, b) << text << "\nprinted: " << printed;
    EXPECT_EQ(printSpec(b), printed);
  }
}

TEST(SpecPrint, FloatsRoundTripExactly) {
  for (double x : {0.1, 1.0 / 3.0, 1e-7, 0.9, 123456.789, -2.5, 50.0, 1e20,
                   -1.5e300, 5e-324, 0.08838834764831845}) {
    AttentionSpec s;
    s.scale = x;
    s.softcap = std::fabs(x);
    std::string printed = printSpec(s);
    AttentionSpec b = parseOk(printed);
    EXPECT_EQ(*b.scale, x) << printed;
    EXPECT_EQ(b.softcap, std::fabs(x)) << printed;
  }
  EXPECT_NE(printSpec(parseOk("score=softcap:50+alibi")).find("softcap:50+"),
            std::string::npos);
  AttentionSpec s;
  s.scale = 0.9;
  EXPECT_NE(printSpec(s).find("scale=0.9"), std::string::npos);
}

//===----------------------------------------------------------------------===//
// Validation
//===----------------------------------------------------------------------===//

TEST(SpecValidate, Rules) {
  struct Case {
    const char *text;
    const char *needle;
  };
  const Case cases[] = {
      {"batch=0", "batch must be >= 1, got 0"},
      {"heads=0", "Hq must be >= 1, got 0"},
      {"seq=4:0", "Skv must be >= 1, got 0"},
      {"dim=-1", "Dqk must be >= 1, got -1"},
      {"heads=6:4", "Hq=6 must be a multiple of Hk=4 and Hv=4"},
      {"heads=6:3:4", "Hq=6 must be a multiple of Hk=3 and Hv=4"},
      {"mask=window:-1", "window sizes must be >= 0, got window:-1:0"},
      {"mask=window:3:-2", "window sizes must be >= 0, got window:3:-2"},
      {"mask=sink:-1", "sink must be >= 0, got -1"},
      {"seq=40 mask=blocks:16x16:10/11",
       "block layout is 2x2 but seq=40:40 with blocks 16x16 needs 3x3"},
      {"seq=4 mask=blocks:0x2:1/1", "block size must be >= 1, got 0x2"},
      {"mask=blockmask:0x0", "block size must be >= 1, got 0x0"},
      {"heads=3 mask=perhead[causal;none]@0,1",
       "per-head assignment has 2 entries, Hq=3"},
      {"heads=2 mask=perhead[causal;none]@0,2",
       "per-head assignment of head 1 is 2, not in [0, 2)"},
      {"seq=8 heads=2 mask=perhead[blockmask:2x2;blockmask:4x4]",
       "runtime block sizes 2x2 and 4x4"},
      {"seq=8 mask=perhead[causal;blocks:4x4:1/0]", "perhead pattern 1"},
      {"lse=1 norm=sigmoid", "lse=1 needs norm=softmax"},
      {"tile=0x64", "tile sizes must be > 0, got tile=0x64"},
      {"tile=-16x-16", "tile sizes must be > 0"},
      {"warps=-1", "warps must be >= 1 (0 = compiler's choice), got -1"},
      {"stages=-2", "stages must be >= 1 (0 = compiler's choice), got -2"},
      {"tile=7x64", "tile=QxKV takes a power of two Q and a power of two or "
                    "multiple of 16 KV in [1, 512], got tile=7x64"},
      {"tile=64x24", "multiple of 16 KV in [1, 512], got tile=64x24"},
      {"tile=48x64", "got tile=48x64"},
      {"tile=64x528", "got tile=64x528"},
      {"scale=0", "scale must be finite and non-zero"},
      {"dim=4294967297", "Dqk must be <= 65536, got 4294967297"},
      {"heads=4294967296", "Hq must be <= 65536"},
      {"seq=3000000000", "Sq must be <= 2147483648, got 3000000000"},
      {"tile=1024x1024", "tile=QxKV takes a power of two Q"},
      {"warps=3", "warps must be 1, 2, 4, 8 or 16, got 3"},
      {"stages=9", "stages must be in [1, 8], got 9"},
      {"schedule=split_kv:0", "split_kv count must be >= 1, got 0"},
      {"schedule=stream_k:-3", "stream_k count must be >= 1, got -3"},
      {"heads=4 pack_gqa=1",
       "pack_gqa needs query heads that share a key and value head "
       "(Hq / max(Hk, Hv) > 1), got heads=4:4:4"},
      {"heads=4:2 mask=perhead[causal;none]@0,1,0,1 pack_gqa=1",
       "pack_gqa needs one mask for every head"},
      {"heads=4:2 seq=8 mask=blocks:4x4:10/11 pack_gqa=1",
       "pack_gqa cannot take a block-sparse mask"},
      {"heads=4:2 mask=blockmask:4x4 pack_gqa=1",
       "pack_gqa cannot take a block-sparse mask"},
      {"kind=linear pack_gqa=1", "pack_gqa is a choice of softmax"},
      {"kind=linear heads=4:2", "kind=linear needs Hq == Hk == Hv, got 4:2:2"},
      {"kind=linear seq=4:8", "kind=linear needs Sq == Skv, got 4:8"},
      {"kind=linear decay=1.5", "decay must be in (0, 1], got 1.5"},
      {"kind=linear decay=0", "decay must be in (0, 1], got 0"},
      {"kind=linear decay=0.5 mask=none", "decay needs mask=causal"},
      {"kind=linear decay=alibi mask=none", "decay needs mask=causal"},
      {"kind=linear state=out mask=none", "state in/out needs mask=causal"},
      {"kind=linear mask=causal schedule=stream_k:4",
       "kind=linear takes schedule=auto|flash|split_kv, not stream_k"},
      {"kind=linear score=alibi", "does not support score modifications"},
      {"kind=linear gate=1", "does not support gate"},
      {"kind=linear lse=1", "does not support lse"},
      {"feature=elu1", "kind=linear only"},
      {"decay=0.5", "kind=linear only"},
      {"state=in", "kind=linear only"},
  };
  for (const Case &c : cases) {
    std::string err = validateErr(c.text);
    EXPECT_NE(err.find(c.needle), std::string::npos)
        << "input: " << c.text << "\nerror: " << err
        << "\nexpected to contain: " << c.needle;
  }
}

TEST(SpecValidate, CodeBuiltSpecs) {
  AttentionSpec s;
  s.softcap = -1;
  EXPECT_NE(validateSpec(s).find("softcap must be > 0"), std::string::npos);

  s = AttentionSpec();
  s.headPreset = HeadPreset::MQA;
  s.headBase = 8;
  s.hq = 8; // hk/hv still 1: consistent
  EXPECT_EQ(validateSpec(s), "");
  s.hk = s.hv = 2;
  EXPECT_NE(validateSpec(s).find("implies heads 8:1:1, not 8:2:2"),
            std::string::npos);

  s = AttentionSpec();
  s.perHeadAssign = {0};
  EXPECT_NE(validateSpec(s).find("without perhead"), std::string::npos);

  s = AttentionSpec();
  s.perHead = {MaskSpec()};
  s.mask.causal = CausalAlign::BottomRight;
  EXPECT_NE(validateSpec(s).find("exclusive"), std::string::npos);

  s = AttentionSpec();
  s.name = "has space";
  EXPECT_NE(validateSpec(s).find("not an identifier"), std::string::npos);
}

TEST(SpecValidate, GoldenSpecsAreValid) {
  const char *specs[] = {
      "batch=1 heads=3 seq=8 dim=4 mask=causal score=alibi",
      "batch=1 heads=2 seq=6:3 dim=4 mask=causal lse=1",
      "batch=1 heads=1 seq=9:12 dim=4 mask=causal+window:3",
      "batch=1 heads=4:2:1 seq=7 dim=6",
      ("kind=linear batch=1 heads=2 seq=9 dim=4 mask=causal feature=elu1 "
       "decay=0.9 norm=sum"),
      "kind=linear batch=1 heads=1 seq=7 dim=3 mask=none feature=taylor2",
      "batch=1 heads=2 seq=6 dim=4 mask=causal norm=sigmoid:-1",
      "batch=1 heads=2 seq=12 dim=4 mask=sink:2+window:3",
  };
  for (const char *t : specs)
    EXPECT_EQ(validateErr(t), "") << t;
}

#ifdef ATTN_GOLDEN_DIR
TEST(SpecValidate, DocExamplesAreValid) {
  // docs/spec-grammar.md promises every --gen="..." in it is a valid spec.
  std::ifstream f(std::string(ATTN_GOLDEN_DIR) + "/../../docs/spec-grammar.md");
  ASSERT_TRUE(f.good()) << "docs/spec-grammar.md not found";
  std::stringstream ss;
  ss << f.rdbuf();
  const std::string doc = ss.str(), open = "--gen=\"";
  int count = 0;
  for (size_t pos = doc.find(open); pos != std::string::npos;
       pos = doc.find(open, pos + 1)) {
    size_t start = pos + open.size(), end = doc.find('"', start);
    ASSERT_NE(end, std::string::npos);
    std::string text = doc.substr(start, end - start);
    AttentionSpec s = parseOk(text);
    EXPECT_EQ(validateSpec(s), "") << text;
    EXPECT_EQ(parseOk(printSpec(s)), s) << text;
    ++count;
  }
  EXPECT_GE(count, 10);
}
#endif

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

TEST(SpecHelpers, AlibiSlopes) {
  // Powers of two: 2^(-8 (h+1) / n).
  for (int64_t h = 0; h < 8; ++h)
    EXPECT_DOUBLE_EQ(alibiSlope(h, 8), std::pow(2.0, -(h + 1.0)));
  EXPECT_DOUBLE_EQ(alibiSlope(0, 4), 0.25);
  EXPECT_DOUBLE_EQ(alibiSlope(3, 4), 1.0 / 256);
  EXPECT_DOUBLE_EQ(alibiSlope(0, 1), 1.0 / 256);
  // n = 3: slopes(2) = [2^-4, 2^-8], then slopes(4)[0::2][:1] = [2^-2].
  EXPECT_EQ(alibiSlope(0, 3), 1.0 / 16);
  EXPECT_EQ(alibiSlope(1, 3), 1.0 / 256);
  EXPECT_EQ(alibiSlope(2, 3), 1.0 / 4);
  // n = 6: slopes(4) = 2^-2..2^-8, then slopes(8)[0, 2] = 2^-1, 2^-3.
  const double six[] = {0.25, 1.0 / 16, 1.0 / 64, 1.0 / 256, 0.5, 0.125};
  for (int64_t h = 0; h < 6; ++h)
    EXPECT_EQ(alibiSlope(h, 6), six[h]) << h;
  // n = 12: slopes(8), then slopes(16)[0, 2, 4, 6] = 2^-0.5 .. 2^-3.5.
  EXPECT_DOUBLE_EQ(alibiSlope(8, 12), std::pow(2.0, -0.5));
  EXPECT_DOUBLE_EQ(alibiSlope(11, 12), std::pow(2.0, -3.5));
  EXPECT_EQ(alibiSlope(5, 4), 0.0); // out of range
}

TEST(SpecHelpers, Misc) {
  EXPECT_STREQ(toString(DType::F32), "f32");
  EXPECT_STREQ(toString(DType::F16), "f16");
  EXPECT_STREQ(toString(DType::BF16), "bf16");
  AttentionSpec s = parseOk("dim=16");
  EXPECT_EQ(s.effectiveScale(), 0.25);
  EXPECT_EQ(s.featureDim(), 16);
  EXPECT_FALSE(s.usesDocument());
  EXPECT_TRUE(parseOk("heads=2 mask=perhead[none;document]").usesDocument());
  EXPECT_EQ(parseOk("mask=causal").runtimeBlockMask(), nullptr);

  MaskSpec a, b;
  EXPECT_EQ(a, b);
  b.windowRight = 1;
  EXPECT_NE(a, b);
}

} // namespace
