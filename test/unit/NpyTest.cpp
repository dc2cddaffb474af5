//===- NpyTest.cpp - .npy reader/writer tests -----------------------------===//

#include "attn/Reference/Npy.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <limits>

using namespace mlir::attn;

namespace {

/// A .npy file with the given raw header dict and data bytes (version 1.0).
std::string makeFile(const std::string &dict, const std::string &data,
                     char major = 1) {
  std::string header = dict;
  size_t pre = major == 1 ? 10 : 12;
  while ((pre + header.size() + 1) % 64 != 0)
    header += ' ';
  header += '\n';
  std::string f("\x93NUMPY", 6);
  f += major;
  f += '\0';
  size_t n = header.size();
  f += static_cast<char>(n & 0xff);
  f += static_cast<char>((n >> 8) & 0xff);
  if (major != 1)
    f += std::string(2, '\0');
  return f + header + data;
}

std::string parseError(const std::string &bytes) {
  RefTensor t;
  std::string err;
  EXPECT_FALSE(parseNpy(bytes, t, err));
  return err;
}

TEST(Npy, RoundTripEveryDType) {
  RefTensor t({2, 3});
  t.data = {0, 1, -2, 3.5, -128, 127};
  for (NpyDType d : {NpyDType::F16, NpyDType::F32, NpyDType::F64, NpyDType::I8,
                     NpyDType::I32}) {
    std::string bytes = serializeNpy(t, d);
    RefTensor r;
    std::string err;
    NpyDType got;
    ASSERT_TRUE(parseNpy(bytes, r, err, &got)) << npyDescr(d) << ": " << err;
    EXPECT_EQ(got, d);
    EXPECT_EQ(r.shape, t.shape);
    std::vector<double> want = t.data;
    if (d == NpyDType::I8 || d == NpyDType::I32)
      want[3] = 4; // 3.5 rounds to even
    EXPECT_EQ(r.data, want) << npyDescr(d);
  }
  // u8 saturates negatives at 0.
  RefTensor r;
  std::string err;
  ASSERT_TRUE(parseNpy(serializeNpy(t, NpyDType::U8), r, err)) << err;
  EXPECT_EQ(r.data, (std::vector<double>{0, 1, 0, 4, 0, 127}));
}

TEST(Npy, HeaderIsAlignedAndNumpyShaped) {
  RefTensor t({5});
  std::string bytes = serializeNpy(t, NpyDType::F64);
  size_t dataStart = bytes.size() - 5 * 8;
  EXPECT_EQ(dataStart % 64, 0u);
  EXPECT_EQ(bytes[dataStart - 1], '\n');
  EXPECT_NE(bytes.find("'shape': (5,)"), std::string::npos);
  EXPECT_NE(bytes.find("'descr': '<f8'"), std::string::npos);
  EXPECT_NE(bytes.find("'fortran_order': False"), std::string::npos);
}

TEST(Npy, ExactDoublesAndSpecials) {
  RefTensor t({4});
  const double inf = std::numeric_limits<double>::infinity();
  t.data = {1.0 / 3, -inf, 1e-310, -0.0};
  RefTensor r;
  std::string err;
  ASSERT_TRUE(parseNpy(serializeNpy(t, NpyDType::F64), r, err)) << err;
  EXPECT_EQ(r.data[0], 1.0 / 3);
  EXPECT_EQ(r.data[1], -inf);
  EXPECT_EQ(r.data[2], 1e-310);
  EXPECT_TRUE(std::signbit(r.data[3]));
}

TEST(Npy, ScalarsEmptiesAndVersions) {
  RefTensor r;
  std::string err;
  // 0-d array: shape () and one value.
  std::string one("\x00\x00\x80\x3f", 4); // 1.0f
  ASSERT_TRUE(parseNpy(makeFile("{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (), }",
                                one),
                       r, err))
      << err;
  EXPECT_TRUE(r.shape.empty());
  EXPECT_EQ(r.data, (std::vector<double>{1.0}));
  EXPECT_EQ(r.numel(), 1);

  // A zero dimension: no data at all, even after a huge dimension.
  ASSERT_TRUE(parseNpy(makeFile("{'descr': '<f8', 'fortran_order': False, "
                                "'shape': (4611686018427387904, 0), }",
                                ""),
                       r, err))
      << err;
  EXPECT_TRUE(r.data.empty());

  // Version 2.0 (uint32 header length), double quotes, reordered keys,
  // no trailing comma, f16 and |i1 data.
  std::string h("\x00\x3c\x00\xc0", 4); // 1.0, -2.0 in f16
  ASSERT_TRUE(parseNpy(makeFile("{\"shape\": (2,), \"fortran_order\": False, "
                                "\"descr\": \"<f2\"}",
                                h, 2),
                       r, err))
      << err;
  EXPECT_EQ(r.data, (std::vector<double>{1.0, -2.0}));
  ASSERT_TRUE(parseNpy(makeFile("{'descr': '|i1', 'fortran_order': False, "
                                "'shape': (1, 2), }",
                                std::string("\xff\x05", 2)),
                       r, err))
      << err;
  EXPECT_EQ(r.data, (std::vector<double>{-1, 5}));
}

TEST(Npy, MalformedInputs) {
  const std::string dict =
      "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }";
  const std::string eight(8, '\0');
  struct Case {
    std::string bytes;
    const char *needle;
  };
  const Case cases[] = {
      {"", "bad magic"},
      {"NUMPY", "bad magic"},
      {std::string("\x93NUMPX\x01\x00\x10\x00", 10), "bad magic"},
      {std::string("\x93NUMPY\x04\x00\x10\x00", 10),
       "unsupported .npy version 4.0"},
      {std::string("\x93NUMPY\x01\x00\xff\x00{}", 12), "truncated header"},
      {std::string("\x93NUMPY\x02\x00\x10", 9), "truncated header"},
      {std::string("\x93NUMPY\x01", 7), "truncated header"},
      {makeFile(dict, eight).substr(0, 60), "truncated header"},
      {makeFile(dict, std::string(7, '\0')), "truncated data"},
      {makeFile(dict, std::string(9, '\0')), "trailing data: 1 bytes"},
      {makeFile("{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }",
                eight),
       "fortran_order=True is unsupported"},
      {makeFile("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }",
                eight),
       "unsupported dtype '>f4'"},
      {makeFile("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                eight),
       "unsupported dtype '<c8'"},
      {makeFile("{'descr': [('a', '<f4')], 'fortran_order': False, "
                "'shape': (2,), }",
                eight),
       "structured dtypes"},
      {makeFile("{'descr': '<f4', 'fortran_order': False}", eight),
       "header lacks"},
      {makeFile("{'descr': '<f4', 'fortran_order': Maybe, 'shape': (2,)}",
                eight),
       "'fortran_order' is not True or False"},
      {makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2, -1)}",
                eight),
       "'shape' is not a tuple"},
      {makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), "
                "'extra': 1}",
                eight),
       "unexpected header key 'extra'"},
      {makeFile("['descr', '<f4']", eight), "header is not a dict"},
      {makeFile("{'descr': '<f4' 'fortran_order': False, 'shape': (2,)}",
                eight),
       "malformed header dict"},
      {makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)} x",
                eight),
       "trailing characters"},
      {makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': "
                "(4294967296, 4294967296, 4294967296)}",
                eight),
       "truncated data"},
      {makeFile("{'descr': '<f4', 'fortran_order': False, 'shape': "
                "(99999999999999999999,)}",
                eight),
       "'shape' is not a tuple"},
  };
  for (const Case &c : cases) {
    std::string err = parseError(c.bytes);
    EXPECT_NE(err.find(c.needle), std::string::npos)
        << "error: " << err << "\nexpected to contain: " << c.needle;
  }
}

TEST(Npy, NeverCrashesOnDamagedFiles) {
  // Every truncation and every single-byte corruption of a valid file either
  // parses or reports an error; none may crash (run under sanitizers too).
  RefTensor t({2, 3});
  t.data = {1, 2, 3, 4, 5, 6};
  const std::string good = serializeNpy(t, NpyDType::F32);
  RefTensor r;
  std::string err;
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_FALSE(parseNpy(good.substr(0, n), r, err)) << n;
    EXPECT_FALSE(err.empty());
  }
  const char subst[] = {'\0', '\xff', '(', ')', ',', '\'', '9', '}', ' '};
  for (size_t i = 0; i < good.size() - 24; ++i)
    for (char c : subst) {
      std::string bad = good;
      bad[i] = c;
      err.clear();
      if (!parseNpy(bad, r, err)) {
        EXPECT_FALSE(err.empty());
      }
    }
}

TEST(Npy, Files) {
  std::string path = ::testing::TempDir() + "attn_npy_test.npy";
  RefTensor t({1, 2, 2});
  t.data = {0.5, -0.25, 1, 2};
  std::string err;
  ASSERT_TRUE(writeNpy(path, t, NpyDType::F32, err)) << err;
  RefTensor r;
  ASSERT_TRUE(readNpy(path, r, err)) << err;
  EXPECT_EQ(r.shape, t.shape);
  EXPECT_EQ(r.data, t.data);
  std::remove(path.c_str());

  EXPECT_FALSE(readNpy(path, r, err));
  EXPECT_NE(err.find("cannot open '" + path + "'"), std::string::npos);
  EXPECT_FALSE(writeNpy("/nonexistent-dir/x.npy", t, NpyDType::F32, err));
  EXPECT_NE(err.find("cannot open '/nonexistent-dir/x.npy' for writing"),
            std::string::npos);

  // Errors of a bad file name the path.
  {
    std::FILE *f = std::fopen(path.c_str(), "wb");
    ASSERT_NE(f, nullptr);
    std::fputs("not numpy", f);
    std::fclose(f);
  }
  EXPECT_FALSE(readNpy(path, r, err));
  EXPECT_EQ(err, path + ": bad magic: not a .npy file");
  std::remove(path.c_str());
}

TEST(Npy, GoldenFileHeader) {
  RefTensor r;
  std::string err;
  NpyDType d;
  ASSERT_TRUE(readNpy(std::string(ATTN_GOLDEN_DIR) + "/gqa_causal/q.npy", r,
                      err, &d))
      << err;
  EXPECT_EQ(d, NpyDType::F32);
  EXPECT_EQ(r.shape, (std::vector<int64_t>{2, 4, 9, 8}));
}

} // namespace
