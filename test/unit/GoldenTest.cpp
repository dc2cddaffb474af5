//===- GoldenTest.cpp - fp64 reference against the golden vectors ---------===//
//
// Every folder of test/golden holds a spec and independently computed float64
// outputs (see test/golden/README.md). The reference must reproduce them to
// 1e-12 relative, with -inf LSE of fully masked rows matching exactly.
//
//===----------------------------------------------------------------------===//

#include "attn/Reference/Npy.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

#ifndef ATTN_GOLDEN_DIR
#error "ATTN_GOLDEN_DIR must point at test/golden"
#endif

using namespace mlir::attn;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> goldenCases() {
  std::vector<std::string> names;
  std::error_code ec;
  for (const fs::directory_entry &e :
       fs::directory_iterator(ATTN_GOLDEN_DIR, ec))
    if (e.is_directory() && fs::exists(e.path() / "spec.txt"))
      names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

/// Relative error bound of the contract.
constexpr double kTolerance = 1e-12;

/// Floors the denominator at 1e-3 of the largest expected magnitude: a
/// cancellation-dominated near-zero element (hk_ne_hv has |o| ~ 1e-4 next
/// to |o| ~ 1.4) would otherwise measure summation order, not semantics.
/// Any semantic error (a wrong mask, slope or scale) is still >= 1e-6 here.
double floorFor(const RefTensor &want) {
  double m = 0;
  for (double x : want.data)
    if (std::isfinite(x))
      m = std::max(m, std::fabs(x));
  return std::max(1e-3 * m, std::numeric_limits<double>::min());
}

class Golden : public ::testing::TestWithParam<std::string> {};

TEST_P(Golden, ReferenceMatches) {
  const fs::path dir = fs::path(ATTN_GOLDEN_DIR) / GetParam();
  std::ifstream specFile(dir / "spec.txt");
  std::stringstream text;
  text << specFile.rdbuf();

  AttentionSpec spec;
  std::string err;
  ASSERT_TRUE(parseSpec(text.str(), spec, err)) << err;
  ASSERT_EQ(validateSpec(spec), "");

  AttentionIO io;
  ASSERT_TRUE(readNpy((dir / "q.npy").string(), io.q, err)) << err;
  ASSERT_TRUE(readNpy((dir / "k.npy").string(), io.k, err)) << err;
  ASSERT_TRUE(readNpy((dir / "v.npy").string(), io.v, err)) << err;
  if (fs::exists(dir / "gate.npy")) {
    ASSERT_TRUE(readNpy((dir / "gate.npy").string(), io.gate, err)) << err;
  }

  ReferenceResult res = runReference(spec, io);
  ASSERT_EQ(res.error, "");

  RefTensor want;
  ASSERT_TRUE(readNpy((dir / "out.npy").string(), want, err)) << err;
  Comparison c = compareTensors(res.out, want, floorFor(want));
  ASSERT_EQ(c.error, "");
  EXPECT_LE(c.maxRelError, kTolerance)
      << "out: worst element " << c.worstIndex << " got "
      << res.out.data[c.worstIndex] << " want " << want.data[c.worstIndex];
  // The un-floored elementwise error, for the record.
  RecordProperty("max_rel_error_unfloored",
                 std::to_string(compareTensors(res.out, want, 0).maxRelError));

  bool hasLse = fs::exists(dir / "lse.npy");
  EXPECT_EQ(hasLse, spec.lse);
  if (hasLse) {
    RefTensor wantLse;
    ASSERT_TRUE(readNpy((dir / "lse.npy").string(), wantLse, err)) << err;
    Comparison cl = compareTensors(res.lse, wantLse, floorFor(wantLse));
    ASSERT_EQ(cl.error, "");
    EXPECT_LE(cl.maxRelError, kTolerance)
        << "lse: worst element " << cl.worstIndex << " got "
        << res.lse.data[cl.worstIndex] << " want "
        << wantLse.data[cl.worstIndex];
  }
}

INSTANTIATE_TEST_SUITE_P(All, Golden, ::testing::ValuesIn(goldenCases()),
                         [](const ::testing::TestParamInfo<std::string> &i) {
                           return i.param;
                         });

TEST(GoldenSet, IsPresent) {
  // An empty or missing folder must fail loudly, not pass vacuously.
  EXPECT_GE(goldenCases().size(), 20u) << "golden dir: " << ATTN_GOLDEN_DIR;
}

TEST(GoldenSet, SpecsRoundTrip) {
  for (const std::string &name : goldenCases()) {
    std::ifstream f(fs::path(ATTN_GOLDEN_DIR) / name / "spec.txt");
    std::stringstream text;
    text << f.rdbuf();
    AttentionSpec a, b;
    std::string err;
    ASSERT_TRUE(parseSpec(text.str(), a, err)) << name << ": " << err;
    ASSERT_TRUE(parseSpec(printSpec(a), b, err)) << name << ": " << err;
    EXPECT_EQ(a, b) << name;
  }
}

} // namespace
