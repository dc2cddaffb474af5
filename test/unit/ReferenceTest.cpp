//===- ReferenceTest.cpp - Hand-computed cases for the fp64 reference -----===//
//
// Every expected number here comes from a separate closed-form calculation
// (one or two keys, or all-equal scores so softmax is a plain mean), written
// as literals, so a bug shared by the reference and a test helper cannot
// hide.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

using namespace mlir::attn;

namespace {

const double kInf = std::numeric_limits<double>::infinity();

AttentionSpec makeSpec(const std::string &text) {
  AttentionSpec s;
  std::string err;
  EXPECT_TRUE(parseSpec(text, s, err)) << err;
  EXPECT_EQ(validateSpec(s), "") << text;
  return s;
}

RefTensor tensor(std::vector<int64_t> shape, std::vector<double> data) {
  RefTensor t(std::move(shape));
  EXPECT_EQ(t.data.size(), data.size());
  t.data = std::move(data);
  return t;
}

/// Inputs with all-zero q (so every kept score is equal and softmax is the
/// mean of the kept values) and k, v from the spec's shapes; v[j] = vals[j]
/// for every head and batch (Dv must be 1).
AttentionIO uniformIO(const AttentionSpec &s, const std::vector<double> &vals) {
  IOShapes sh = ioShapes(s);
  AttentionIO io;
  io.q = RefTensor(sh.q);
  io.k = RefTensor(sh.k);
  io.v = RefTensor(sh.v);
  for (size_t i = 0; i < io.v.data.size(); ++i)
    io.v.data[i] = vals[i % vals.size()];
  return io;
}

/// The mask of head h as rows of 0/1 joined by '/'.
std::string keepMatrix(const AttentionSpec &s, const AttentionIO &io,
                       int64_t b = 0, int64_t h = 0) {
  std::string r;
  for (int64_t i = 0; i < s.sq; ++i) {
    if (i)
      r += '/';
    for (int64_t j = 0; j < s.skv; ++j)
      r += maskKeeps(s, s.maskForHead(h), io, b, h, i, j) ? '1' : '0';
  }
  return r;
}

ReferenceResult run(const AttentionSpec &s, const AttentionIO &io) {
  ReferenceResult r = runReference(s, io);
  EXPECT_EQ(r.error, "");
  return r;
}

void expectNear(const std::vector<double> &got,
                const std::vector<double> &want, double tol = 1e-14) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isinf(want[i]))
      EXPECT_EQ(got[i], want[i]) << "index " << i;
    else
      EXPECT_NEAR(got[i], want[i], tol * std::max(1.0, std::fabs(want[i])))
          << "index " << i;
  }
}

//===----------------------------------------------------------------------===//
// Softmax numerics
//===----------------------------------------------------------------------===//

TEST(Reference, TwoKeySoftmaxClosedForm) {
  // scale = 1/sqrt(1); s = [0, 2]; O = (1 + 3 e^2) / (1 + e^2),
  // LSE = log(1 + e^2).
  AttentionSpec s = makeSpec("heads=1 seq=1:2 dim=1 lse=1");
  AttentionIO io;
  io.q = tensor({1, 1, 1, 1}, {1});
  io.k = tensor({1, 1, 2, 1}, {0, 2});
  io.v = tensor({1, 1, 2, 1}, {1, 3});
  ReferenceResult r = run(s, io);
  expectNear(r.out.data, {2.761594155955765});
  expectNear(r.lse.data, {2.1269280110429727});
}

TEST(Reference, DefaultScaleIsInverseSqrtDim) {
  // dim=4: s1 = (1+1+1+1) / 2 = 2, s0 = 0; v = [0, 5] -> 5 e^2 / (1 + e^2).
  AttentionSpec s = makeSpec("heads=1 seq=1:2 dim=4:1");
  AttentionIO io;
  io.q = tensor({1, 1, 1, 4}, {1, 1, 1, 1});
  io.k = tensor({1, 1, 2, 4}, {0, 0, 0, 0, 1, 1, 1, 1});
  io.v = tensor({1, 1, 2, 1}, {0, 5});
  expectNear(run(s, io).out.data, {4.403985389889413});
  // An explicit scale replaces it: scale=0.5 gives the same scores here.
  AttentionSpec s2 = makeSpec("heads=1 seq=1:2 dim=4:1 scale=0.5");
  expectNear(run(s2, io).out.data, {4.403985389889413});
}

TEST(Reference, FullyMaskedRowIsZeroWithMinusInfLse) {
  // Sq=3 > Skv=1, bottom-right: i_abs = i - 2, rows 0 and 1 keep nothing.
  AttentionSpec s = makeSpec("heads=1 seq=3:1 dim=1 mask=causal lse=1 gate=1");
  AttentionIO io;
  io.q = tensor({1, 1, 3, 1}, {1, 2, 3});
  io.k = tensor({1, 1, 1, 1}, {0.5});
  io.v = tensor({1, 1, 1, 1}, {7});
  io.gate = tensor({1, 1, 3, 1}, {0, 0, 0});
  ReferenceResult r = run(s, io);
  // Row 2 keeps the single key: O = v * sigmoid(0), LSE = 3 * 0.5.
  expectNear(r.out.data, {0, 0, 3.5});
  expectNear(r.lse.data, {-kInf, -kInf, 1.5});
  for (double x : r.out.data)
    EXPECT_FALSE(std::isnan(x));
}

TEST(Reference, Sigmoid) {
  // p = sigmoid(s - 1): sigmoid(-1) * 1 + sigmoid(1) * 3, no normalization.
  AttentionSpec s = makeSpec("heads=1 seq=1:2 dim=1 norm=sigmoid:-1");
  AttentionIO io;
  io.q = tensor({1, 1, 1, 1}, {1});
  io.k = tensor({1, 1, 2, 1}, {0, 2});
  io.v = tensor({1, 1, 2, 1}, {1, 3});
  expectNear(run(s, io).out.data, {2.46211715726001});

  // A fully masked sigmoid row is 0 as well.
  AttentionSpec m = makeSpec("heads=1 seq=2:1 dim=1 mask=causal norm=sigmoid");
  AttentionIO io2;
  io2.q = tensor({1, 1, 2, 1}, {1, 1});
  io2.k = tensor({1, 1, 1, 1}, {0});
  io2.v = tensor({1, 1, 1, 1}, {4});
  expectNear(run(m, io2).out.data, {0, 2}); // row 1: sigmoid(0) * 4
}

TEST(Reference, Softcap) {
  // s1 = 1 * tanh(2 / 1); v = [0, 1] -> e^tanh2 / (1 + e^tanh2).
  AttentionSpec s = makeSpec("heads=1 seq=1:2 dim=1 score=softcap:1");
  AttentionIO io;
  io.q = tensor({1, 1, 1, 1}, {2});
  io.k = tensor({1, 1, 2, 1}, {0, 1});
  io.v = tensor({1, 1, 2, 1}, {0, 1});
  expectNear(run(s, io).out.data, {0.7239274686640463});
}

TEST(Reference, AlibiUsesAbsolutePositions) {
  // Two heads, slopes 2^-4 and 2^-8. Sq=1, Skv=2: i_abs = 1, so key 0 gets
  // -slope, key 1 gets 0; v = [0, 1] -> 1 / (1 + e^-slope).
  AttentionSpec s = makeSpec("heads=2 seq=1:2 dim=1 score=alibi");
  AttentionIO io = uniformIO(s, {0, 1});
  expectNear(run(s, io).out.data, {0.5156199157230156, 0.5009765612582384});
}

TEST(Reference, BiasAndGate) {
  // Bias [0, 2] plays the role of the scores of TwoKeySoftmaxClosedForm.
  AttentionSpec s = makeSpec("heads=1 seq=1:2 dim=1 score=bias gate=head");
  AttentionIO io = uniformIO(s, {1, 3});
  io.bias = tensor({1, 1, 1, 2}, {0, 2});
  io.gate = tensor({1, 1, 1, 1}, {0});
  expectNear(run(s, io).out.data, {2.761594155955765 * 0.5});

  // Elementwise gate: O = [2, 2] * [sigmoid(1), sigmoid(-2)].
  AttentionSpec g = makeSpec("heads=1 seq=1 dim=1:2 gate=1");
  AttentionIO io2;
  io2.q = tensor({1, 1, 1, 1}, {1});
  io2.k = tensor({1, 1, 1, 1}, {1});
  io2.v = tensor({1, 1, 1, 2}, {2, 2});
  io2.gate = tensor({1, 1, 1, 2}, {1, -2});
  expectNear(run(g, io2).out.data,
             {1.4621171572600098, 2 * 0.11920292202211755});
}

TEST(Reference, GqaAndDiffQkvHeadMapping) {
  // Hq=4, Hk=2, Hv=4: query head h reads key head h/2, value head h.
  // Key head 0 has scores [0, 0] (mean), key head 1 scores [0, 2].
  AttentionSpec s = makeSpec("heads=4:2:4 seq=1:2 dim=1");
  AttentionIO io;
  io.q = tensor({1, 4, 1, 1}, {1, 1, 1, 1});
  io.k = tensor({1, 2, 2, 1}, {0, 0, 0, 2});
  io.v = tensor({1, 4, 2, 1}, {0, 10, 1, 11, 2, 12, 3, 13});
  // Heads 0,1: (h + h+10) / 2; heads 2,3: (h + e^2 (h+10)) / (1 + e^2).
  expectNear(run(s, io).out.data,
             {5, 6, 10.807970779778824, 11.807970779778824});

  // Hq=4, Hk=4, Hv=2: value head h/2. One key, so O = v[h/2].
  AttentionSpec d = makeSpec("heads=4:4:2 seq=1 dim=1");
  AttentionIO io2;
  io2.q = tensor({1, 4, 1, 1}, {1, 1, 1, 1});
  io2.k = tensor({1, 4, 1, 1}, {1, 1, 1, 1});
  io2.v = tensor({1, 2, 1, 1}, {7, 9});
  expectNear(run(d, io2).out.data, {7, 7, 9, 9});
}

//===----------------------------------------------------------------------===//
// Masks: exact predicate, then one end-to-end mean each
//===----------------------------------------------------------------------===//

TEST(ReferenceMask, CausalBottomRightShortQ) {
  // Sq=2, Skv=4: i_abs = i + 2.
  AttentionSpec s = makeSpec("heads=1 seq=2:4 dim=1 mask=causal");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  EXPECT_EQ(keepMatrix(s, io), "1110/1111");
  expectNear(run(s, io).out.data, {7.0 / 3, 15.0 / 4});
}

TEST(ReferenceMask, CausalTopLeft) {
  AttentionSpec s = makeSpec("heads=1 seq=2:4 dim=1 mask=causal-topleft");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  EXPECT_EQ(keepMatrix(s, io), "1000/1100");
  expectNear(run(s, io).out.data, {1, 1.5});
}

TEST(ReferenceMask, Window) {
  AttentionSpec s = makeSpec("heads=1 seq=4 dim=1 mask=window:1:1");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  EXPECT_EQ(keepMatrix(s, io), "1100/1110/0111/0011");
  expectNear(run(s, io).out.data, {1.5, 7.0 / 3, 14.0 / 3, 6});

  // Bottom-right with Sq < Skv: i_abs = i + 3, window [i_abs - 1, i_abs].
  AttentionSpec br = makeSpec("heads=1 seq=2:5 dim=1 mask=window:1");
  EXPECT_EQ(keepMatrix(br, uniformIO(br, {1})), "00110/00011");
  // Causal + window equals the window with R = 0.
  AttentionSpec cw = makeSpec("heads=1 seq=3 dim=1 mask=causal+window:1:5");
  EXPECT_EQ(keepMatrix(cw, uniformIO(cw, {1})), "100/110/011");
}

TEST(ReferenceMask, Sink) {
  // Window [i-1, i] plus sink token 0 (never past the diagonal).
  AttentionSpec s = makeSpec("heads=1 seq=5 dim=1 mask=sink:1+window:1");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8, 16});
  EXPECT_EQ(keepMatrix(s, io), "10000/11000/11100/10110/10011");
  expectNear(run(s, io).out.data, {1, 1.5, 7.0 / 3, 13.0 / 3, 25.0 / 3});

  // sink:2 adds j < 2 only where j <= i_abs: row 0 does not see key 1.
  AttentionSpec d = makeSpec("heads=1 seq=3 dim=1 mask=sink:2+window:0");
  EXPECT_EQ(keepMatrix(d, uniformIO(d, {1})), "100/110/111");
  // Sink alone adds nothing to an unmasked pattern.
  AttentionSpec a = makeSpec("heads=1 seq=3 dim=1 mask=sink:2");
  EXPECT_EQ(keepMatrix(a, uniformIO(a, {1})), "111/111/111");
}

TEST(ReferenceMask, Document) {
  AttentionSpec s = makeSpec("heads=1 seq=4 dim=1 mask=document");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  io.docIds = {0, 0, 1, 1};
  EXPECT_EQ(keepMatrix(s, io), "1100/1100/0011/0011");
  expectNear(run(s, io).out.data, {1.5, 1.5, 6, 6});

  AttentionSpec c = makeSpec("heads=1 seq=4 dim=1 mask=causal+document");
  EXPECT_EQ(keepMatrix(c, io), "1000/1100/0010/0011");

  // Sq < Skv: query i has the document of position i + 2.
  AttentionSpec br = makeSpec("heads=1 seq=2:4 dim=1 mask=document");
  AttentionIO io2 = uniformIO(br, {1});
  io2.docIds = {0, 1, 1, 2};
  EXPECT_EQ(keepMatrix(br, io2), "0110/0001");

  // Sq > Skv: query 0 sits at i_abs = -1, in no document.
  AttentionSpec lq = makeSpec("heads=1 seq=3:2 dim=1 mask=document lse=1");
  AttentionIO io3 = uniformIO(lq, {1, 3});
  io3.docIds = {5, 5};
  EXPECT_EQ(keepMatrix(lq, io3), "00/11/11");
  ReferenceResult r = run(lq, io3);
  expectNear(r.out.data, {0, 2, 2});
  EXPECT_EQ(r.lse.data[0], -kInf);

  // Per batch ids.
  AttentionSpec b2 = makeSpec("batch=2 heads=1 seq=2 dim=1 mask=document");
  AttentionIO io4 = uniformIO(b2, {1});
  io4.docIds = {0, 0, 0, 1};
  EXPECT_EQ(keepMatrix(b2, io4, 0), "11/11");
  EXPECT_EQ(keepMatrix(b2, io4, 1), "10/01");
}

TEST(ReferenceMask, StaticBlockLayout) {
  AttentionSpec s = makeSpec("heads=1 seq=4 dim=1 mask=blocks:2x2:10/11");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  EXPECT_EQ(keepMatrix(s, io), "1100/1100/1111/1111");
  expectNear(run(s, io).out.data, {1.5, 1.5, 3.75, 3.75});

  AttentionSpec c =
      makeSpec("heads=1 seq=4 dim=1 mask=blocks:2x2:10/11+causal");
  EXPECT_EQ(keepMatrix(c, io), "1000/1100/1110/1111");

  // Ragged last block: ceil(3/2) = 2 block rows and columns.
  AttentionSpec r = makeSpec("heads=1 seq=3 dim=1 mask=blocks:2x2:10/01");
  EXPECT_EQ(keepMatrix(r, uniformIO(r, {1})), "110/110/001");
}

TEST(ReferenceMask, RuntimeBlockMask) {
  AttentionSpec s = makeSpec("heads=2 seq=4 dim=1 mask=blockmask:2x2");
  AttentionIO io = uniformIO(s, {1, 2, 4, 8});
  // [B=1, Hq=2, 2, 2]: head 0 diagonal blocks, head 1 lower triangle.
  io.blockMask = {1, 0, 0, 1, 1, 0, 1, 1};
  EXPECT_EQ(keepMatrix(s, io, 0, 0), "1100/1100/0011/0011");
  EXPECT_EQ(keepMatrix(s, io, 0, 1), "1100/1100/1111/1111");
  expectNear(run(s, io).out.data, {1.5, 1.5, 6, 6, 1.5, 1.5, 3.75, 3.75});
}

TEST(ReferenceMask, PerHead) {
  // Default assignment h % 2: heads 0, 2 causal, head 1 unmasked.
  AttentionSpec s = makeSpec("heads=3 seq=3 dim=1 mask=perhead[causal;none]");
  AttentionIO io = uniformIO(s, {1, 2, 4});
  EXPECT_EQ(keepMatrix(s, io, 0, 0), "100/110/111");
  EXPECT_EQ(keepMatrix(s, io, 0, 1), "111/111/111");
  expectNear(run(s, io).out.data,
             {1, 1.5, 7.0 / 3, 7.0 / 3, 7.0 / 3, 7.0 / 3, 1, 1.5, 7.0 / 3});

  // Explicit assignment, mixing alignments.
  AttentionSpec e =
      makeSpec("heads=2 seq=2:3 dim=1 mask=perhead[causal;causal-topleft]@1,0");
  AttentionIO io2 = uniformIO(e, {1});
  EXPECT_EQ(keepMatrix(e, io2, 0, 0), "100/110");
  EXPECT_EQ(keepMatrix(e, io2, 0, 1), "110/111");
}

//===----------------------------------------------------------------------===//
// Linear attention
//===----------------------------------------------------------------------===//

/// q = [1, 2, 1], k = [1, 1, 2], v = [1, 2, 3], one head, Dk = Dv = 1.
AttentionIO linearIO(const AttentionSpec &s) {
  AttentionIO io;
  io.q = tensor({1, 1, 3, 1}, {1, 2, 1});
  io.k = tensor({1, 1, 3, 1}, {1, 1, 2});
  io.v = tensor({1, 1, 3, 1}, {1, 2, 3});
  (void)s;
  return io;
}

TEST(ReferenceLinear, ConstantDecay) {
  // o_t = q_t sum_{s<=t} 0.5^(t-s) k_s v_s:
  // o0 = 1; o1 = 2 (0.5 + 2) = 5; o2 = 0.25 + 1 + 6 = 7.25.
  AttentionSpec s =
      makeSpec("kind=linear heads=1 seq=3 dim=1 decay=0.5 state=out");
  ReferenceResult r = run(s, linearIO(s));
  expectNear(r.out.data, {1, 5, 7.25});
  // Final state: 0.25 * 1 + 0.5 * 2 + 1 * 6.
  ASSERT_EQ(r.stateOut.shape, (std::vector<int64_t>{1, 1, 1, 1}));
  expectNear(r.stateOut.data, {7.25});
}

TEST(ReferenceLinear, NormSum) {
  // Denominators with v = 1: 1, 2 (0.5 + 1) = 3, 0.25 + 0.5 + 2 = 2.75.
  AttentionSpec s =
      makeSpec("kind=linear heads=1 seq=3 dim=1 decay=0.5 norm=sum state=out");
  ReferenceResult r = run(s, linearIO(s));
  expectNear(r.out.data, {1, 5.0 / 3, 7.25 / 2.75});
  // State gains the normalizer column.
  ASSERT_EQ(r.stateOut.shape, (std::vector<int64_t>{1, 1, 1, 2}));
  expectNear(r.stateOut.data, {7.25, 2.75});

  // relu of a negative q makes the sum 0: the output is 0, not NaN.
  AttentionSpec z = makeSpec("kind=linear heads=1 seq=1 dim=1 feature=relu "
                             "norm=sum");
  AttentionIO io;
  io.q = tensor({1, 1, 1, 1}, {-1});
  io.k = tensor({1, 1, 1, 1}, {0.5});
  io.v = tensor({1, 1, 1, 1}, {2});
  expectNear(run(z, io).out.data, {0});
}

TEST(ReferenceLinear, StateInContinuesAChunk) {
  // Initial state (s0, z0) = (4, 2) decayed t+1 times:
  // o_t += 0.5^(t+1) q_t s0 -> o = [1 + 2, 5 + 2, 7.25 + 0.5].
  AttentionSpec s =
      makeSpec("kind=linear heads=1 seq=3 dim=1 decay=0.5 state=inout");
  AttentionIO io = linearIO(s);
  io.stateIn = tensor({1, 1, 1, 1}, {4});
  ReferenceResult r = run(s, io);
  expectNear(r.out.data, {3, 7, 7.75});
  expectNear(r.stateOut.data, {7.25 + 0.125 * 4});

  // Running two halves with the state carried equals one full run.
  AttentionSpec full = makeSpec(
      "kind=linear heads=2 seq=6 dim=3:2 feature=elu1 decay=0.75 norm=sum "
      "state=out");
  AttentionIO fio = makeRandomInputs(full, 7);
  ReferenceResult fr = run(full, fio);
  AttentionSpec half1 = makeSpec("kind=linear heads=2 seq=3 dim=3:2 "
                                 "feature=elu1 decay=0.75 norm=sum state=out");
  AttentionSpec half2 = makeSpec("kind=linear heads=2 seq=3 dim=3:2 "
                                 "feature=elu1 decay=0.75 norm=sum "
                                 "state=inout");
  auto slice = [](const RefTensor &t, int64_t from, int64_t len) {
    RefTensor r({t.shape[0], t.shape[1], len, t.shape[3]});
    for (int64_t h = 0; h < t.shape[1]; ++h)
      for (int64_t s = 0; s < len; ++s)
        for (int64_t d = 0; d < t.shape[3]; ++d)
          r.at({0, h, s, d}) = t.at({0, h, from + s, d});
    return r;
  };
  AttentionIO a, b;
  a.q = slice(fio.q, 0, 3), a.k = slice(fio.k, 0, 3), a.v = slice(fio.v, 0, 3);
  b.q = slice(fio.q, 3, 3), b.k = slice(fio.k, 3, 3), b.v = slice(fio.v, 3, 3);
  ReferenceResult ra = run(half1, a);
  b.stateIn = ra.stateOut;
  ReferenceResult rb = run(half2, b);
  expectNear(slice(fr.out, 0, 3).data, ra.out.data, 1e-13);
  expectNear(slice(fr.out, 3, 3).data, rb.out.data, 1e-13);
  expectNear(fr.stateOut.data, rb.stateOut.data, 1e-13);
}

TEST(ReferenceLinear, AlibiDecayPerHead) {
  // q = k = v = 1, two heads: o1 = lambda_h + 1, lambda_h = exp(-slope_h).
  AttentionSpec s = makeSpec("kind=linear heads=2 seq=2 dim=1 decay=alibi");
  AttentionIO io;
  io.q = tensor({1, 2, 2, 1}, {1, 1, 1, 1});
  io.k = io.q;
  io.v = io.q;
  expectNear(run(s, io).out.data,
             {1, 1.9394130628134758, 1, 1.9961013694701175});
}

TEST(ReferenceLinear, FeatureMaps) {
  // taylor2, non-causal: phi(q).phi(k) = 1 + qk + (qk)^2 / 2.
  // q0.k0 = 1 -> 2.5, q0.k1 = 0 -> 1; q1.k0 = q1.k1 = 2 -> 5.
  AttentionSpec t = makeSpec("kind=linear heads=1 seq=2 dim=2:1 mask=none "
                             "feature=taylor2");
  EXPECT_EQ(t.featureDim(), 7);
  AttentionIO io;
  io.q = tensor({1, 1, 2, 2}, {1, 0, 1, 1});
  io.k = tensor({1, 1, 2, 2}, {1, 1, 0, 2});
  io.v = tensor({1, 1, 2, 1}, {1, 10});
  expectNear(run(t, io).out.data, {12.5, 55});

  // elu1(-1) = e^-1, elu1(0.5) = 1.5: o = e^-1 * 1.5 * 2.
  AttentionSpec e = makeSpec("kind=linear heads=1 seq=1 dim=1 feature=elu1");
  AttentionIO io2;
  io2.q = tensor({1, 1, 1, 1}, {-1});
  io2.k = tensor({1, 1, 1, 1}, {0.5});
  io2.v = tensor({1, 1, 1, 1}, {2});
  expectNear(run(e, io2).out.data, {1.103638323514327});

  // scale= multiplies q before the feature map: relu(-2 * -1) * 0.5 * 2 = 2.
  AttentionSpec sc =
      makeSpec("kind=linear heads=1 seq=1 dim=1 feature=relu scale=-2");
  expectNear(run(sc, io2).out.data, {2});

  // Non-causal identity: every output sees every key, no decay.
  AttentionSpec nc = makeSpec("kind=linear heads=1 seq=3 dim=1 mask=none");
  expectNear(run(nc, linearIO(nc)).out.data, {9, 18, 9});
}

//===----------------------------------------------------------------------===//
// Errors and inputs
//===----------------------------------------------------------------------===//

TEST(Reference, RejectsBadSpecsAndInputs) {
  AttentionSpec s = makeSpec("heads=2 seq=3 dim=4 score=bias");
  AttentionIO io = makeRandomInputs(s, 1);
  EXPECT_EQ(runReference(s, io).error, "");

  AttentionIO noBias = io;
  noBias.bias = RefTensor();
  EXPECT_NE(runReference(s, noBias).error.find("bias has shape []"),
            std::string::npos);

  AttentionIO badQ = io;
  badQ.q.shape = {1, 2, 3, 5};
  ReferenceResult r = runReference(s, badQ);
  EXPECT_NE(r.error.find("q has shape [1,2,3,5], expected [1,2,3,4]"),
            std::string::npos);
  EXPECT_TRUE(r.out.empty());

  AttentionIO extra = io;
  extra.gate = RefTensor({1, 2, 3, 1});
  EXPECT_NE(runReference(s, extra).error.find("gate given"),
            std::string::npos);

  AttentionSpec doc = makeSpec("heads=1 seq=3 dim=1 mask=document");
  AttentionIO dio = makeRandomInputs(doc, 1);
  dio.docIds.pop_back();
  EXPECT_NE(runReference(doc, dio).error.find("docIds holds 2 values"),
            std::string::npos);

  AttentionSpec bad = s;
  bad.hk = 3;
  EXPECT_NE(runReference(bad, io).error.find("multiple of Hk=3"),
            std::string::npos);

  // Invalid specs never crash the helpers.
  AttentionSpec neg = makeSpec("heads=2 seq=4 dim=1 mask=blockmask:2x2");
  neg.sq = -3;
  neg.mask.blockQ = 0;
  AttentionIO nio = makeRandomInputs(neg, 1);
  EXPECT_TRUE(nio.q.empty());
  EXPECT_FALSE(maskKeeps(neg, neg.mask, nio, 0, 0, 0, 0));
  EXPECT_NE(runReference(neg, nio).error, "");
  EXPECT_TRUE(RefTensor({2, -1}).empty());
}

TEST(ReferenceInputs, DeterministicAndRepresentable) {
  AttentionSpec s = makeSpec("batch=2 heads=4:2 seq=5:7 dim=8:4 score=bias "
                             "gate=1 mask=document+blockmask:2x4");
  AttentionIO a = makeRandomInputs(s, 42), b = makeRandomInputs(s, 42);
  EXPECT_EQ(a.q.data, b.q.data);
  EXPECT_EQ(a.gate.data, b.gate.data);
  EXPECT_EQ(a.docIds, b.docIds);
  EXPECT_EQ(a.blockMask, b.blockMask);
  EXPECT_NE(makeRandomInputs(s, 43).q.data, a.q.data);
  EXPECT_EQ(checkInputs(s, a), "");

  for (const RefTensor *t : {&a.q, &a.k, &a.v, &a.gate, &a.bias}) {
    for (double x : t->data) {
      EXPECT_EQ(roundToDType(x, DType::BF16), x);
      EXPECT_EQ(roundToDType(x, DType::F16), x);
      EXPECT_LE(std::fabs(x), t == &a.gate ? 2.0 : 1.0);
    }
  }
  // Document ids: non-decreasing runs starting at 0 in each batch row.
  for (int64_t bi = 0; bi < 2; ++bi) {
    EXPECT_EQ(a.docIds[bi * 7], 0);
    for (int64_t j = 1; j < 7; ++j) {
      int32_t d = a.docIds[bi * 7 + j] - a.docIds[bi * 7 + j - 1];
      EXPECT_TRUE(d == 0 || d == 1);
    }
  }
  // Block mask [2, 4, 3, 2]: the block of each row's bottom-right diagonal.
  ASSERT_EQ(a.blockMask.size(), 2u * 4 * 3 * 2);
  for (size_t bh = 0; bh < 8; ++bh)
    for (int64_t r = 0; r < 3; ++r) {
      int64_t i = std::min<int64_t>((r + 1) * 2, 5) - 1;
      EXPECT_EQ(a.blockMask[(bh * 3 + r) * 2 + (i + 2) / 4], 1);
    }

  // Adding an operand leaves the others unchanged.
  AttentionIO plain = makeRandomInputs(makeSpec("batch=2 heads=4:2 seq=5:7 "
                                                "dim=8:4"),
                                       42);
  EXPECT_EQ(plain.q.data, a.q.data);
  EXPECT_EQ(plain.v.data, a.v.data);

  // Linear state: normalizer column non-negative.
  AttentionSpec l = makeSpec("kind=linear heads=2 seq=4 dim=2:3 norm=sum "
                             "state=in feature=taylor2");
  AttentionIO li = makeRandomInputs(l, 3);
  ASSERT_EQ(li.stateIn.shape, (std::vector<int64_t>{1, 2, 7, 4}));
  for (size_t i = 3; i < li.stateIn.data.size(); i += 4)
    EXPECT_GE(li.stateIn.data[i], 0);
  EXPECT_EQ(runReference(l, li).error, "");
}

TEST(ReferenceInputs, KnownAnswer) {
  // Pinned outputs (in units of 1/64): e2e expectations and GPU check
  // results recorded elsewhere depend on the generator never changing.
  auto scaled = [](const RefTensor &t) {
    std::vector<double> r;
    for (double x : t.data)
      r.push_back(x * 64);
    return r;
  };
  AttentionSpec s = makeSpec("heads=1 seq=1:4 dim=4 gate=head mask=document");
  AttentionIO a = makeRandomInputs(s, 0);
  EXPECT_EQ(scaled(a.q), (std::vector<double>{-28, 5, -48, -25}));
  EXPECT_EQ(scaled(a.k), (std::vector<double>{-22, -48, -53, -47, -57, 15, 11,
                                              -8, 26, -6, 60, 63, -53, 46, -26,
                                              -60}));
  EXPECT_EQ(scaled(a.gate), (std::vector<double>{-33}));
  EXPECT_EQ(a.docIds, (std::vector<int32_t>{0, 0, 1, 2}));
  AttentionIO b = makeRandomInputs(s, 12345);
  EXPECT_EQ(scaled(b.v), (std::vector<double>{-41, 52, 11, 0, -55, -52, -30,
                                              20, 4, 24, 43, -19, 42, -4, 0,
                                              -59}));
}

TEST(DTypeHelpers, HalfAndBFloat16) {
  EXPECT_EQ(f32ToF16Bits(1.0f), 0x3c00);
  EXPECT_EQ(f32ToF16Bits(-2.0f), 0xc000);
  EXPECT_EQ(f32ToF16Bits(65504.0f), 0x7bff);
  EXPECT_EQ(f32ToF16Bits(65519.0f), 0x7bff);
  EXPECT_EQ(f32ToF16Bits(65520.0f), 0x7c00);
  EXPECT_EQ(f32ToF16Bits(std::ldexp(1.0f, -24)), 0x0001);
  EXPECT_EQ(f32ToF16Bits(std::ldexp(1.0f, -25)), 0x0000); // tie to even
  EXPECT_EQ(f32ToF16Bits(std::ldexp(3.0f, -25)), 0x0002); // tie to even
  EXPECT_EQ(f32ToF16Bits(std::ldexp(1.0f, -14)), 0x0400);
  EXPECT_EQ(f32ToF16Bits(1.0f / 3.0f), 0x3555);
  EXPECT_EQ(f32ToF16Bits(1.0f + std::ldexp(1.0f, -11)), 0x3c00); // tie, even
  EXPECT_EQ(f32ToF16Bits(1.0f + 3 * std::ldexp(1.0f, -11)), 0x3c02);
  EXPECT_EQ(f32ToF16Bits(kInf), 0x7c00);
  EXPECT_EQ(f32ToF16Bits(std::nanf("")) & 0x7e00, 0x7e00);
  EXPECT_EQ(f16BitsToF32(0x3555), 0.333251953125f);
  EXPECT_EQ(f16BitsToF32(0x0001), std::ldexp(1.0f, -24));
  EXPECT_EQ(f16BitsToF32(0x8400), -std::ldexp(1.0f, -14));
  EXPECT_EQ(f16BitsToF32(0xfc00), -kInf);
  EXPECT_TRUE(std::isnan(f16BitsToF32(0x7e00)));
  for (uint32_t h = 0; h < 0x7c00; ++h) // every finite half round-trips
    ASSERT_EQ(f32ToF16Bits(f16BitsToF32(static_cast<uint16_t>(h))), h);

  EXPECT_EQ(f32ToBF16Bits(1.0f), 0x3f80);
  EXPECT_EQ(f32ToBF16Bits(1.0f + std::ldexp(1.0f, -8)), 0x3f80); // tie, even
  EXPECT_EQ(f32ToBF16Bits(1.0f + 3 * std::ldexp(1.0f, -8)), 0x3f82);
  EXPECT_EQ(bf16BitsToF32(0x4049), 3.140625f);
  EXPECT_TRUE(std::isnan(bf16BitsToF32(f32ToBF16Bits(std::nanf("")))));

  EXPECT_EQ(roundToDType(0.1, DType::F32), static_cast<double>(0.1f));
  EXPECT_EQ(roundToDType(1.0 / 3, DType::F16), 0.333251953125);
  EXPECT_EQ(roundToDType(1.0 / 3, DType::BF16), 0.333984375);

  RefTensor t = tensor({2}, {1.0 / 3, 2});
  EXPECT_EQ(castTo(t, DType::F16).data,
            (std::vector<double>{0.333251953125, 2}));
  std::vector<uint16_t> hb = toF16Bits(t), bb = toBF16Bits(t);
  EXPECT_EQ(fromF16Bits({2}, hb.data()).data, castTo(t, DType::F16).data);
  EXPECT_EQ(fromBF16Bits({2}, bb.data()).data, castTo(t, DType::BF16).data);
  std::vector<float> f = toF32(t);
  EXPECT_EQ(fromF32({2}, f.data()).data, castTo(t, DType::F32).data);
}

TEST(Compare, RelativeErrorAndInfinities) {
  RefTensor want = tensor({4}, {1, -2, 0, -kInf});
  RefTensor got = tensor({4}, {1.5, -2, 1e-9, -kInf});
  Comparison c = compareTensors(got, want, 1e-6);
  EXPECT_EQ(c.error, "");
  EXPECT_DOUBLE_EQ(c.maxRelError, 0.5);
  EXPECT_EQ(c.worstIndex, 0);
  EXPECT_DOUBLE_EQ(c.maxAbsError, 0.5);

  got.data[3] = -1e300;
  EXPECT_EQ(compareTensors(got, want, 1e-6).maxRelError, kInf);
  got.data[3] = std::nan("");
  EXPECT_EQ(compareTensors(got, want, 1e-6).maxRelError, kInf);
  EXPECT_NE(compareTensors(tensor({1}, {1}), want, 0).error, "");
}

} // namespace
