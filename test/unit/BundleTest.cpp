//===- BundleTest.cpp - Bundle writer: manifest, header, files ------------===//
//
// writeBundle -> attn_bundle_load round trip, the writer's validation, and
// the generated header compiled as C99 (and C++) with the system compiler.
//
//===----------------------------------------------------------------------===//

#include "attn/Emit/Bundle.h"
#include "attn_runtime.h"

#include "TempFiles.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <unistd.h>

#ifndef ATTN_C_COMPILER
#define ATTN_C_COMPILER "cc"
#endif
#ifndef ATTN_CXX_COMPILER
#define ATTN_CXX_COMPILER "c++"
#endif

using namespace mlir::attn;

namespace {

using attn_test::makeTempDir;
using attn_test::readFile;
using attn_test::ScopedTempDir;

bool haveCommand(const std::string &cmd) {
  return std::system(("command -v " + cmd + " >/dev/null 2>&1").c_str()) == 0;
}

/// A GQA-like bundle: every kind of argument and all four binary formats
/// (the binaries are placeholder bytes; nothing is launched here).
BundleDesc sampleBundle() {
  BundleDesc d;
  d.name = "gqa";
  d.spec = "batch=? heads=32:8 seq=? dim=128 dtype=bf16 mask=causal \"quoted\" */ ?\?=";
  d.constants = {{"Hq", 32}, {"Hk", 8}, {"blockQ", 64}};
  d.args = {
      {"q", "bf16", {"B", "Hq", "Sq", "128"}, false},
      {"k", "bf16", {"B", "Hk", "Skv", "128"}, false},
      {"v", "bf16", {"B", "Hk", "Skv", "128"}, false},
      {"block_mask", "i8", {"B", "Hq", "ceil(Sq/blockQ)", "ceil(Skv/64)"}, false},
      {"o", "bf16", {"B", "Hq", "Sq", "128"}, true},
      {"lse", "f32", {"B", "Hq", "Sq"}, true},
      {"B", "i64", {}, false},
      {"Sq", "i64", {}, false},
      {"Skv", "i64", {}, false},
  };
  BundleKernel cpu;
  cpu.target = "cpu", cpu.format = "so", cpu.file = "gqa.cpu.so";
  cpu.binary = {0x7f, 'E', 'L', 'F', 0, 1, 2, 0xff};
  cpu.entry = "_mlir_ciface_gqa";
  cpu.workItems = "B*Hq*ceil(Sq/32)";
  BundleKernel cubin;
  cubin.target = "sm_80", cubin.format = "cubin", cubin.file = "gqa.sm_80.cubin";
  cubin.binary = std::vector<uint8_t>(40, 0xab);
  cubin.entry = "gqa_kernel";
  cubin.gridX = "ceil(Sq/blockQ)", cubin.gridY = "Hq", cubin.gridZ = "B";
  cubin.blockX = 128;
  cubin.dynamicSmemBytes = 98304, cubin.registers = 168, cubin.spillBytes = 0;
  cubin.kernel = "mma.sync", cubin.tile = {128, 64, 8, 2};
  cubin.paramAbi = "flat-memref";
  BundleKernel ptx = cubin;
  ptx.format = "ptx", ptx.file = "gqa.sm_80.ptx";
  std::string text = "//\n.version 8.0\n.target sm_80\n";
  ptx.binary.assign(text.begin(), text.end());
  ptx.paramAbi = ""; // defaults to flat-memref for GPU kernels
  BundleKernel hsaco = cubin;
  hsaco.target = "gfx942", hsaco.format = "hsaco", hsaco.file = "gqa.gfx942.hsaco";
  hsaco.blockX = 256, hsaco.dynamicSmemBytes = 0, hsaco.scratchBytes = 0, hsaco.spillBytes = -1;
  d.kernels = {cpu, cubin, ptx, hsaco};
  return d;
}

} // namespace

TEST(Bundle, ValidSampleBundle) { EXPECT_EQ(validateBundle(sampleBundle()), ""); }

TEST(Bundle, ManifestRoundTrip) {
  BundleDesc d = sampleBundle();
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  ASSERT_FALSE(dir.empty());
  ASSERT_EQ(writeBundle(d, dir), "");

  // Files: manifest, header, one binary per kernel with its exact bytes.
  for (const BundleKernel &k : d.kernels) {
    std::string got = readFile(dir + "/" + k.file);
    EXPECT_EQ(got, std::string(k.binary.begin(), k.binary.end())) << k.file;
  }
  std::string json = readFile(dir + "/gqa.json");
  EXPECT_EQ(json, manifestJson(d));
  EXPECT_EQ(readFile(dir + "/gqa.h"), cHeader(d));
  EXPECT_NE(json.find("\"size\": 40"), std::string::npos);
  EXPECT_NE(json.find("\"param_abi\": \"flat-memref\""), std::string::npos);
  EXPECT_NE(json.find("\"work_items\": \"B*Hq*ceil(Sq/32)\""), std::string::npos);
  // Which kernel was built, informational (the runtime skips these keys).
  EXPECT_NE(json.find("\"kernel\": \"mma.sync\",\n      \"tile\": [128, 64, 8, 2]\n"),
            std::string::npos)
      << json;
  EXPECT_EQ(json.find("producer_registers"), std::string::npos);
  EXPECT_EQ(json.find("ptxas_wgmma_notes"), std::string::npos);

  // The runtime reads it back.
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load((dir + "/gqa.json").c_str(), &b), ATTN_OK) << attn_last_error();
  ASSERT_NE(b, nullptr);
  EXPECT_STREQ(attn_bundle_name(b), "gqa");
  EXPECT_EQ(std::string(attn_bundle_spec(b)), d.spec);
  EXPECT_EQ(attn_bundle_num_tensors(b), 6u);
  EXPECT_EQ(attn_bundle_workspace_bytes(b), 0);
  const char *target = nullptr, *file = nullptr;
  ASSERT_EQ(attn_bundle_select(b, "cpu", &target, &file), ATTN_OK) << attn_last_error();
  EXPECT_STREQ(target, "cpu");
  EXPECT_STREQ(file, "gqa.cpu.so");
  attn_bundle_free(b);

  // And from memory, with the blobs the header embeds.
  std::vector<attn_blob> blobs;
  for (const BundleKernel &k : d.kernels)
    blobs.push_back({k.file.c_str(), k.binary.data(), k.binary.size()});
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), blobs.data(), blobs.size(), &b), ATTN_OK)
      << attn_last_error();
  EXPECT_EQ(attn_bundle_num_tensors(b), 6u);
  attn_bundle_free(b);

  // A blob whose size disagrees with the manifest is refused.
  blobs[1].size -= 1;
  EXPECT_EQ(attn_bundle_load_memory(json.c_str(), blobs.data(), blobs.size(), &b),
            ATTN_ERR_FORMAT);
  EXPECT_NE(std::string(attn_last_error()).find("gqa.sm_80.cubin"), std::string::npos);
  EXPECT_EQ(b, nullptr);
}

// ptxas -v as CUDA 13 prints it for a kernel whose products it serialized.
TEST(Bundle, PtxasReport) {
  const std::string log =
      "ptxas info    : (C7517) warpgroup.wait is injected in around line 1120 "
      "by compiler to allow use of registers defined by GMMA in function 'k'\n"
      "ptxas info    : (C7511) Potential Performance Loss: wgmma.mma_async "
      "instructions are serialized due to insufficient register resources for "
      "the wgmma pipeline in the function 'k'\n"
      "ptxas info    : 0 bytes gmem\n"
      "ptxas info    : Compiling entry function 'k' for 'sm_90a'\n"
      "ptxas info    : Function properties for k\n"
      "    16 bytes stack frame, 8 bytes spill stores, 8 bytes spill loads\n"
      "ptxas info    : Used 168 registers, used 1 barriers, 1 bytes smem\n";
  BundleDesc d = sampleBundle();
  BundleKernel &k = d.kernels[1];
  ASSERT_EQ(k.format, "cubin");
  readPtxasReport(log, k);
  EXPECT_EQ(k.registers, 168);
  EXPECT_EQ(k.spillBytes, 8);
  EXPECT_EQ(k.scratchBytes, 16);
  EXPECT_EQ(k.staticSmemBytes, 1);
  ASSERT_EQ(k.ptxasWgmmaNotes.size(), 2u);
  EXPECT_EQ(k.ptxasWgmmaNotes[0],
            "(C7517) warpgroup.wait is injected in around line 1120 by "
            "compiler to allow use of registers defined by GMMA");
  EXPECT_EQ(k.ptxasWgmmaNotes[1].rfind("(C7511) Potential Performance Loss", 0), 0u);

  // The manifest lists them with the kernel; the runtime skips the key.
  std::string json = manifestJson(d);
  EXPECT_NE(json.find("\"ptxas_wgmma_notes\": [\"(C7517) warpgroup.wait is injected"),
            std::string::npos)
      << json;
  std::vector<attn_blob> blobs;
  for (const BundleKernel &bk : d.kernels)
    blobs.push_back({bk.file.c_str(), bk.binary.data(), bk.binary.size()});
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), blobs.data(), blobs.size(), &b), ATTN_OK)
      << attn_last_error();
  attn_bundle_free(b);

  // A clean log leaves no notes.
  BundleKernel clean;
  readPtxasReport("ptxas info    : Used 96 registers, used 1 barriers\n", clean);
  EXPECT_EQ(clean.registers, 96);
  EXPECT_TRUE(clean.ptxasWgmmaNotes.empty());
}

TEST(Bundle, WriterReadsBinariesAlreadyInDir) {
  BundleDesc d = sampleBundle();
  d.kernels.resize(1);
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  {
    std::ofstream out(dir + "/gqa.cpu.so", std::ios::binary);
    out << "prebuilt";
  }
  d.kernels[0].binary.clear();
  ASSERT_EQ(writeBundle(d, dir), "");
  EXPECT_EQ(readFile(dir + "/gqa.cpu.so"), "prebuilt");
  EXPECT_NE(readFile(dir + "/gqa.json").find("\"size\": 8"), std::string::npos);
  EXPECT_NE(readFile(dir + "/gqa.h").find("0x70, 0x72, 0x65"), std::string::npos); // "pre"

  d.kernels[0].file = "missing.so";
  EXPECT_NE(writeBundle(d, dir).find("missing.so"), std::string::npos);
}

TEST(Bundle, ValidationErrors) {
  auto expectError = [](const BundleDesc &d, const std::string &part) {
    std::string err = validateBundle(d);
    EXPECT_NE(err.find(part), std::string::npos) << "error was: '" << err << "'";
  };
  BundleDesc d = sampleBundle();
  d.name = "not-an-identifier";
  expectError(d, "not a C identifier");

  d = sampleBundle();
  d.args[0].shape[2] = "Sq*Hv"; // unknown name
  expectError(d, "unknown name 'Hv'");

  d = sampleBundle();
  d.args[0].shape[2] = "ceil(Sq/";
  expectError(d, "argument 'q'");

  d = sampleBundle();
  d.args[1].dtype = "f8";
  expectError(d, "unknown dtype");

  d = sampleBundle();
  d.args.push_back({"Dv", "i64", {}, false});
  expectError(d, "scalar must be B, Sq, Skv or a constant");

  d = sampleBundle();
  d.kernels[1].format = "hsaco";
  expectError(d, "format does not fit");

  d = sampleBundle();
  d.kernels[0].target = "tpu";
  expectError(d, "unknown target");

  d = sampleBundle();
  d.kernels[2].file = d.kernels[1].file;
  expectError(d, "used twice");

  d = sampleBundle();
  d.kernels[1].file = "../evil.cubin";
  expectError(d, "bad file name");

  d = sampleBundle();
  d.kernels[1].blockX = 2048;
  expectError(d, "block dimensions");

  d = sampleBundle();
  d.kernels[1].paramAbi = "by-value";
  expectError(d, "parameter ABI");

  d = sampleBundle();
  d.kernels[0].workItems = "";
  expectError(d, "work items");

  d = sampleBundle();
  d.constants.push_back({"Sq", 3});
  expectError(d, "shadows");

  d = sampleBundle();
  d.kernels[1].workspaceBytes = "4*B*Hv";
  expectError(d, "workspace bytes: unknown name 'Hv'");

  d = sampleBundle();
  d.kernels[1].workspaceZeroBytes = "4";
  expectError(d, "zeroed workspace bytes without a workspace");

  // The device's multiprocessors (SMs): in GPU grids only.
  d = sampleBundle();
  d.kernels[1].gridX = "min(B*Hq*ceil(Sq/64),SMs)";
  EXPECT_EQ(validateBundle(d), "");
  using Mutation = void (*)(BundleDesc &);
  const std::pair<Mutation, const char *> smsElsewhere[] = {
      {[](BundleDesc &b) { b.args[0].shape[2] = "SMs"; },
       "argument 'q' dim 2: unknown name 'SMs'"},
      {[](BundleDesc &b) { b.kernels[0].workItems = "SMs"; },
       "work items: unknown name 'SMs'"},
      {[](BundleDesc &b) { b.kernels[1].workspaceBytes = "4*SMs"; },
       "workspace bytes: unknown name 'SMs'"},
      {[](BundleDesc &b) { b.constants.push_back({"SMs", 132}); },
       "shadows the device's SMs"}};
  for (auto [mutate, part] : smsElsewhere) {
    d = sampleBundle();
    mutate(d);
    expectError(d, part);
  }

  // writeBundle refuses to write an invalid bundle.
  d = sampleBundle();
  d.kernels[1].gridY = "Hq+";
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  EXPECT_NE(writeBundle(d, dir), "");
  EXPECT_NE(access((dir + "/gqa.json").c_str(), F_OK), 0);
}

TEST(Bundle, HeaderLayout) {
  std::string h = cHeader(sampleBundle());
  EXPECT_NE(h.find("#ifndef ATTN_BUNDLE_GQA_H"), std::string::npos);
  EXPECT_NE(h.find("#include \"attn_runtime.h\""), std::string::npos);
  EXPECT_NE(h.find("static const unsigned char gqa_sm_80_cubin[] = {"), std::string::npos);
  EXPECT_NE(h.find("#define GQA_SM_80_CUBIN_LEN 40u"), std::string::npos);
  EXPECT_NE(h.find("static const unsigned char gqa_gfx942_hsaco[]"), std::string::npos);
  EXPECT_NE(h.find("static const char gqa_manifest[] ="), std::string::npos);
  EXPECT_NE(h.find("  const void *q;\n"), std::string::npos);
  EXPECT_NE(h.find("  const void *block_mask;\n"), std::string::npos);
  EXPECT_NE(h.find("  void *o;\n  void *lse;\n  int64_t B, Sq, Skv;\n} gqa_args;"),
            std::string::npos);
  EXPECT_NE(h.find("static inline attn_status gqa_launch(const gqa_args *a, const char *target, "
                   "void *stream)"),
            std::string::npos);
  EXPECT_NE(h.find("#define GQA_NUM_TENSORS 6"), std::string::npos);
  // The spec's "*/" must not end the leading comment early; '?' is escaped
  // in the manifest literal so "??=" cannot become a trigraph.
  EXPECT_EQ(h.find("*/ ?\?="), std::string::npos);
  EXPECT_NE(h.find("\\?\\?="), std::string::npos);
}

TEST(Bundle, HeaderCompilesAsC99AndCxx) {
  if (!haveCommand(ATTN_C_COMPILER))
    GTEST_SKIP() << "no C compiler (" << ATTN_C_COMPILER << ")";
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  BundleDesc d = sampleBundle();
  ASSERT_EQ(writeBundle(d, dir), "");
  // An empty bundle (no kernels, no tensors) must compile too.
  BundleDesc empty;
  empty.name = "nothing";
  ASSERT_EQ(writeBundle(empty, dir), "");
  {
    std::ofstream c(dir + "/use.c");
    c << "#include \"gqa.h\"\n#include \"nothing.h\"\n#include <string.h>\n"
         "int use(void *stream) {\n"
         "  gqa_args a;\n"
         "  nothing_args n = {0, 0, 0};\n"
         "  memset(&a, 0, sizeof a);\n"
         "  return (int)gqa_launch(&a, \"auto\", stream) + (int)nothing_launch(&n, 0, 0);\n"
         "}\n";
  }
  std::string flags = std::string(" -fsyntax-only -Wall -Wextra -Werror -I") + dir + " -I" +
                      ATTN_RUNTIME_INCLUDE_DIR + " ";
  std::string c99 = std::string(ATTN_C_COMPILER) + " -std=c99 -pedantic -Wno-overlength-strings" +
                    flags + dir + "/use.c";
  EXPECT_EQ(std::system(c99.c_str()), 0) << c99;
  if (haveCommand(ATTN_CXX_COMPILER)) {
    std::string cxx = std::string(ATTN_CXX_COMPILER) + " -x c++ -std=c++17" + flags + dir +
                      "/use.c";
    EXPECT_EQ(std::system(cxx.c_str()), 0) << cxx;
  }
}

TEST(Bundle, TensorMapRules) {
  auto withMaps = [](std::vector<BundleTensorMap> maps, const char *target = "sm_90a",
                     const char *abi = "flat-memref+tma") {
    BundleDesc d = sampleBundle();
    BundleKernel &k = d.kernels[1];
    k.target = target, k.file = std::string("gqa.") + target + ".cubin";
    if (std::string(target).compare(0, 3, "gfx") == 0)
      k.format = "hsaco", k.file = "gqa.other.hsaco", d.kernels.pop_back();
    k.paramAbi = abi;
    k.tensorMaps = std::move(maps);
    return validateBundle(d);
  };
  BundleTensorMap q{"q", {64, 64, 1, 1}, 128}, k{"k", {64, 32, 1, 1}, 128};
  EXPECT_EQ(withMaps({q, k}), "");
  EXPECT_NE(manifestJson([&] {
              BundleDesc d = sampleBundle();
              d.kernels[1].paramAbi = "flat-memref+tma", d.kernels[1].tensorMaps = {q};
              return d;
            }())
                .find("\"tensor_maps\": [{\"arg\": \"q\", \"box\": [64, 64, 1, 1], \"swizzle\": 128}]"),
            std::string::npos);
  auto expectError = [](const std::string &err, const std::string &part) {
    EXPECT_NE(err.find(part), std::string::npos) << "error was: '" << err << "'";
  };
  expectError(withMaps({}), "needs tensor maps");
  expectError(withMaps({q}, "sm_90a", "flat-memref"), "need the flat-memref+tma ABI");
  expectError(withMaps({q}, "gfx942"), "for CUDA targets");
  expectError(withMaps({{"x", {64, 64, 1, 1}, 128}}), "no such tensor argument");
  expectError(withMaps({{"block_mask", {64, 64, 1, 1}, 128}}), "dtype i8");
  expectError(withMaps({{"q", {64, 64, 1}, 128}}), "one extent per dimension");
  expectError(withMaps({{"q", {64, 512, 1, 1}, 128}}), "[1, 256]");
  expectError(withMaps({{"q", {64, 64, 1, 1}, 48}}), "swizzle must be");
  expectError(withMaps({{"q", {128, 64, 1, 1}, 128}}), "exceeds the swizzle span");
  expectError(withMaps({{"q", {4, 64, 1, 1}, 0}}), "multiple of 16 bytes");
}
