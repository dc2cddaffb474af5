//===- RuntimeTest.cpp - The bundle runtime without MLIR or a GPU ---------===//
//
// - manifests: malformed ones give ATTN_ERR_FORMAT with a message;
// - CPU: a tiny `_mlir_ciface_` kernel built here from C with `cc -shared`
//   checks the memref descriptors, the work-item split over threads and the
//   arity dispatch, from a manifest file, from memory and through the
//   generated C header linked against libattn_runtime;
// - GPU: without a driver, sm_* / gfx* give ATTN_ERR_NO_DRIVER with the
//   documented messages; with fake libcuda / libamdhip64 libraries (built
//   here, selected with ATTN_CUDA_LIBRARY / ATTN_HIP_LIBRARY) the launch
//   parameters (flat-memref ABI), grid formulas, dynamic shared memory and
//   binary selection are checked as the driver receives them.
//
//===----------------------------------------------------------------------===//

#include "attn/Emit/Bundle.h"
#include "attn_runtime.h"

#include "TempFiles.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <iterator>
#include <filesystem>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

#ifndef ATTN_C_COMPILER
#define ATTN_C_COMPILER "cc"
#endif

using namespace mlir::attn;

namespace {

using attn_test::makeTempDir;
using attn_test::readFile;
using attn_test::ScopedTempDir;

bool haveCompiler() {
  return std::system("command -v " ATTN_C_COMPILER " >/dev/null 2>&1") == 0;
}

/// Compiles C `source` into DIR/name with `cc -shared -fPIC`; "" on failure.
std::string buildSharedObject(const std::string &dir, const std::string &name,
                              const std::string &source) {
  std::string c = dir + "/" + name + ".c", so = dir + "/" + name;
  std::ofstream(c) << source;
  std::string cmd = std::string(ATTN_C_COMPILER) + " -std=c99 -O1 -shared -fPIC -o " + so + " " + c;
  return std::system(cmd.c_str()) == 0 ? so : "";
}

// ---- the CPU kernel ----------------------------------------------------------

// o[b,h,s,:] = keep ? q + k : 0 with keep = m[b, s/3]; lse[b,h,s] = work item.
// One work item per (b, h, s) row. Counters expose the thread split.
const char *kCpuKernel = R"C(
#include <stdint.h>
typedef struct { float *alloc, *data; int64_t off, sizes[4], strides[4]; } F4;
typedef struct { float *alloc, *data; int64_t off, sizes[3], strides[3]; } F3;
typedef struct { int8_t *alloc, *data; int64_t off, sizes[2], strides[2]; } I2;
static int64_t calls, items, msize, qstride0;
int64_t test_calls(void) { return __atomic_load_n(&calls, __ATOMIC_SEQ_CST); }
int64_t test_items(void) { return __atomic_load_n(&items, __ATOMIC_SEQ_CST); }
int64_t test_msize(void) { return msize; }
int64_t test_qstride0(void) { return qstride0; }
void _mlir_ciface_addk(F4 *q, F4 *k, I2 *m, F4 *o, F3 *lse, int64_t b, int64_t e) {
  int64_t H = q->sizes[1], S = q->sizes[2], D = q->sizes[3], wi, d;
  __atomic_add_fetch(&calls, 1, __ATOMIC_SEQ_CST);
  __atomic_add_fetch(&items, e - b, __ATOMIC_SEQ_CST);
  msize = m->sizes[1];
  qstride0 = q->strides[0];
  for (wi = b; wi < e; ++wi) {
    int64_t bb = wi / (H * S), h = (wi / S) % H, s = wi % S;
    int keep = m->data[m->off + bb * m->strides[0] + (s / 3) * m->strides[1]] != 0;
    for (d = 0; d < D; ++d) {
      float x = q->data[q->off + bb * q->strides[0] + h * q->strides[1] + s * q->strides[2] + d * q->strides[3]];
      float y = k->data[k->off + bb * k->strides[0] + h * k->strides[1] + s * k->strides[2] + d * k->strides[3]];
      o->data[o->off + bb * o->strides[0] + h * o->strides[1] + s * o->strides[2] + d * o->strides[3]] = keep ? x + y : 0.0f;
    }
    lse->data[lse->off + bb * lse->strides[0] + h * lse->strides[1] + s * lse->strides[2]] = (float)wi;
  }
}
)C";

BundleDesc addkBundle(std::vector<uint8_t> so) {
  BundleDesc d;
  d.name = "addk";
  d.spec = "test kernel";
  d.constants = {{"Hq", 2}};
  d.args = {
      {"q", "f32", {"B", "Hq", "Sq", "4"}, false},
      {"k", "f32", {"B", "Hq", "Skv", "4"}, false},
      {"m", "i8", {"B", "ceil(Sq/3)"}, false},
      {"o", "f32", {"B", "Hq", "Sq", "4"}, true},
      {"lse", "f32", {"B", "Hq", "Sq"}, true},
      {"B", "i64", {}, false},
      {"Sq", "i64", {}, false},
      {"Skv", "i64", {}, false},
  };
  BundleKernel k;
  k.target = "cpu", k.format = "so", k.file = "addk.cpu.so";
  k.binary = std::move(so);
  k.entry = "_mlir_ciface_addk";
  k.workItems = "B*Hq*Sq";
  d.kernels.push_back(k);
  return d;
}

struct AddkData {
  int64_t B, H = 2, S, D = 4;
  std::vector<float> q, k, o, lse;
  std::vector<int8_t> m;
  std::vector<void *> tensors;
  AddkData(int64_t b, int64_t s) : B(b), S(s) {
    size_t n = B * H * S * D;
    q.resize(n), k.resize(n), o.assign(n, -1.0f), lse.assign(B * H * S, -1.0f);
    for (size_t i = 0; i < n; ++i)
      q[i] = float(i), k[i] = 1000.0f * float(i % 7);
    m.resize(B * ((S + 2) / 3));
    for (size_t i = 0; i < m.size(); ++i)
      m[i] = i % 2 == 0;
    tensors = {q.data(), k.data(), m.data(), o.data(), lse.data()};
  }
  attn_launch_args args() {
    return attn_launch_args{tensors.data(), tensors.size(), B, S, S};
  }
  /// Every output element as the kernel must have written it.
  void check() const {
    int64_t mcols = (S + 2) / 3;
    for (int64_t b = 0; b < B; ++b)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t s = 0; s < S; ++s) {
          int64_t row = (b * H + h) * S + s;
          ASSERT_EQ(lse[row], float(row)) << "row " << row;
          bool keep = m[b * mcols + s / 3] != 0;
          for (int64_t d = 0; d < D; ++d) {
            size_t i = row * D + d;
            ASSERT_EQ(o[i], keep ? q[i] + k[i] : 0.0f) << "element " << i;
          }
        }
  }
};

class ScopedEnv {
public:
  ScopedEnv(const char *name, const char *value) : name(name) {
    if (const char *old = std::getenv(name))
      saved = old, had = true;
    if (value)
      setenv(name, value, 1);
    else
      unsetenv(name);
  }
  ~ScopedEnv() {
    if (had)
      setenv(name, saved.c_str(), 1);
    else
      unsetenv(name);
  }

private:
  const char *name;
  std::string saved;
  bool had = false;
};

// A valid manifest, to break in different ways.
const char *kManifest = R"JSON({
  "attn_bundle": 1, "name": "t", "spec": "s",
  "constants": {"Hq": 4},
  "args": [{"name": "q", "dtype": "f16", "shape": ["B", "Hq", "Sq", 64]},
           {"name": "o", "dtype": "f16", "shape": ["B", "Hq", "Sq", 64], "output": true}],
  "kernels": [{"target": "cpu", "format": "so", "file": "t.cpu.so", "entry": "f",
               "work_items": "B*Hq*ceil(Sq/32)"},
              {"target": "sm_80", "format": "cubin", "file": "t.sm_80.cubin", "entry": "k",
               "grid": ["ceil(Sq/64)", "Hq", "B"], "block": [128, 1, 1],
               "param_abi": "flat-memref"},
              {"target": "gfx942", "format": "hsaco", "file": "t.gfx942.hsaco", "entry": "k",
               "grid": ["ceil(Sq/64)", "Hq", "B"], "block": [256, 1, 1],
               "param_abi": "flat-memref"}]
})JSON";

std::string replaced(std::string s, const std::string &from, const std::string &to) {
  size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos)
    s.replace(at, from.size(), to);
  return s;
}

bool libraryPresent(const char *name) {
  void *h = dlopen(name, RTLD_NOW | RTLD_LOCAL);
  if (h)
    dlclose(h);
  return h != nullptr;
}

} // namespace

// ---- manifests ---------------------------------------------------------------

TEST(Runtime, ValidManifestLoads) {
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(kManifest, nullptr, 0, &b), ATTN_OK) << attn_last_error();
  EXPECT_EQ(attn_bundle_num_tensors(b), 2u);
  attn_bundle_free(b);
  attn_bundle_free(nullptr);
}

TEST(Runtime, MalformedManifests) {
  std::string ok = kManifest;
  std::vector<std::pair<std::string, std::string>> cases = {
      {"", "not valid JSON"},
      {"{", "not valid JSON"},
      {"[]", "top level"},
      {"{} x", "trailing"},
      {"{\"attn_bundle\": 1}", "missing \"name\""},
      {std::string(100000, '['), "nesting"},
      {"{\"a\": \"\x01\"}", "control character"},
      {"{\"a\": 1, \"a\": 2}", "duplicate key"},
      {"{\"a\": \"\\ud800\"}", "surrogate"},
      {"{\"a\": 01}", "leading zero"},
      {replaced(ok, "\"attn_bundle\": 1", "\"attn_bundle\": 2"), "version 2"},
      {replaced(ok, "\"name\": \"t\"", "\"name\": 5"), "name: expected a string"},
      {replaced(ok, "\"name\": \"t\"", "\"name\": \"t-1\""), "not a C identifier"},
      {replaced(ok, "\"constants\": {\"Hq\": 4}", "\"constants\": {\"Hq\": 4.5}"),
       "constants.Hq"},
      {replaced(ok, "\"dtype\": \"f16\"", "\"dtype\": \"f8\""), "unknown dtype"},
      {replaced(ok, "[\"B\", \"Hq\", \"Sq\", 64]", "[\"B\", \"Hq\", \"ceil(Sq\", 64]"),
       "args[0].shape[2]"},
      {replaced(ok, "[\"B\", \"Hq\", \"Sq\", 64]", "[\"B\", \"Hv\", \"Sq\", 64]"),
       "unknown name 'Hv'"},
      {replaced(ok, "[\"B\", \"Hq\", \"Sq\", 64]", "[\"B\", true, \"Sq\", 64]"), "formula"},
      {replaced(ok, "\"target\": \"cpu\"", "\"target\": \"tpu\""), "unknown target"},
      {replaced(ok, "\"format\": \"cubin\"", "\"format\": \"hsaco\""), "does not fit"},
      {replaced(ok, "\"file\": \"t.cpu.so\"", "\"file\": \"../t.cpu.so\""), "plain file name"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"", "\"work_items\": \"B**2\""),
       "work_items"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_bytes\": -4"),
       "workspace_bytes"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_bytes\": 6"),
       "multiple of 4"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_bytes\": \"4*Bx\""),
       "unknown name 'Bx'"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_bytes\": \"4*B\", "
                "\"workspace_zero_bytes\": \"8*B\""),
       "within workspace_bytes"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_zero_bytes\": 4"),
       "without workspace_bytes"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_zero_on_exit\": true"),
       "workspace_zero_on_exit: without workspace_bytes"},
      {replaced(ok, "\"work_items\": \"B*Hq*ceil(Sq/32)\"",
                "\"work_items\": \"3\", \"workspace_bytes\": 4, "
                "\"workspace_zero_on_exit\": 1"),
       "expected true or false"},
      {replaced(ok, "\"grid\": [\"ceil(Sq/64)\", \"Hq\", \"B\"], \"block\": [128, 1, 1]",
                "\"block\": [128, 1, 1]"),
       "missing \"grid\""},
      {replaced(ok, "[128, 1, 1]", "[128, 0, 1]"), "block"},
      {replaced(ok, "[128, 1, 1]", "[128, 1]"), "block"},
      {replaced(ok, "\"param_abi\": \"flat-memref\"", "\"param_abi\": \"packed\""),
       "parameter ABI"},
      {replaced(ok, "\"entry\": \"f\"", "\"entry\": 7"), "entry"},
      {replaced(ok, "\"kernels\": [", "\"kernels\": {\"x\": ["), "not valid JSON"},
  };
  for (const auto &c : cases) {
    attn_bundle *b = reinterpret_cast<attn_bundle *>(&cases); // must be reset to null
    EXPECT_EQ(attn_bundle_load_memory(c.first.c_str(), nullptr, 0, &b), ATTN_ERR_FORMAT)
        << c.first.substr(0, 200);
    EXPECT_EQ(b, nullptr);
    std::string msg = attn_last_error();
    EXPECT_EQ(msg.rfind("manifest", 0), 0u) << msg;
    EXPECT_NE(msg.find(c.second), std::string::npos) << "message: " << msg;
  }
}

// Random byte edits of a valid manifest (deleted, replaced and duplicated
// spans, structural characters swapped in): every load either succeeds or
// fails with ATTN_ERR_FORMAT and a "manifest" message, never crashes or
// hands back a half-built bundle. A fixed seed keeps the cases the same.
TEST(Runtime, ManifestMutationsNeverCrash) {
  const std::string ok = kManifest;
  const char pieces[] = "{}[]\",:0123456789-.eE tfn\\\x01\xff";
  std::srand(7);
  auto roll = [](size_t n) { return static_cast<size_t>(std::rand()) % n; };
  int loaded = 0, refused = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string m = ok;
    for (int e = 0, edits = 1 + roll(4); e < edits && !m.empty(); ++e) {
      size_t at = roll(m.size()), len = 1 + roll(8);
      switch (roll(4)) {
      case 0:
        m.erase(at, len);
        break;
      case 1:
        m[at] = pieces[roll(sizeof(pieces) - 1)];
        break;
      case 2:
        m.insert(at, m.substr(roll(m.size()), len));
        break;
      default:
        m.insert(at, 1, pieces[roll(sizeof(pieces) - 1)]);
      }
    }
    attn_bundle *b = nullptr;
    attn_status st = attn_bundle_load_memory(m.c_str(), nullptr, 0, &b);
    if (st == ATTN_OK) {
      ASSERT_NE(b, nullptr);
      attn_bundle_num_tensors(b);
      attn_bundle_free(b);
      ++loaded;
      continue;
    }
    ASSERT_EQ(st, ATTN_ERR_FORMAT) << m;
    ASSERT_EQ(b, nullptr);
    EXPECT_EQ(std::string(attn_last_error()).rfind("manifest", 0), 0u) << m;
    ++refused;
  }
  // Most edits break the manifest; some (inside a string, whitespace) do not.
  EXPECT_GT(refused, 2000);
  EXPECT_GT(loaded, 0);
}

TEST(Runtime, BadArguments) {
  attn_bundle *b = nullptr;
  EXPECT_EQ(attn_bundle_load(nullptr, &b), ATTN_ERR_INVALID);
  EXPECT_EQ(attn_bundle_load("/nonexistent/dir/x.json", &b), ATTN_ERR_IO);
  EXPECT_NE(std::string(attn_last_error()).find("/nonexistent/dir/x.json"), std::string::npos);
  EXPECT_EQ(attn_bundle_load_memory(nullptr, nullptr, 0, &b), ATTN_ERR_INVALID);
  EXPECT_EQ(attn_bundle_launch(nullptr, "cpu", nullptr, nullptr), ATTN_ERR_INVALID);

  ASSERT_EQ(attn_bundle_load_memory(kManifest, nullptr, 0, &b), ATTN_OK);
  void *t[2] = {nullptr, nullptr};
  attn_launch_args one{t, 1, 1, 1, 1};
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &one, nullptr), ATTN_ERR_INVALID);
  EXPECT_NE(std::string(attn_last_error()).find("takes 2 tensors, got 1"), std::string::npos);
  attn_launch_args neg{t, 2, -1, 1, 1};
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &neg, nullptr), ATTN_ERR_INVALID);
  // The cpu kernel was named but no blob was given.
  attn_launch_args good{t, 2, 1, 1, 1};
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &good, nullptr), ATTN_ERR_NO_BINARY);
  EXPECT_NE(std::string(attn_last_error()).find("t.cpu.so"), std::string::npos);
  attn_bundle_free(b);

  EXPECT_STREQ(attn_status_name(ATTN_ERR_NO_DRIVER), "ATTN_ERR_NO_DRIVER");
}

// ---- targets without drivers -------------------------------------------------

TEST(Runtime, UnknownTargetIsNoBinary) {
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(kManifest, nullptr, 0, &b), ATTN_OK);
  void *t[2] = {nullptr, nullptr};
  attn_launch_args a{t, 2, 1, 64, 64};
  for (const char *target : {"sm_90", "gfx90a", "tpu", ""}) {
    EXPECT_EQ(attn_bundle_launch(b, target, &a, nullptr), ATTN_ERR_NO_BINARY) << target;
    EXPECT_NE(std::string(attn_last_error()).find("bundle targets: cpu, sm_80, gfx942"),
              std::string::npos)
        << attn_last_error();
  }
  attn_bundle_free(b);
}

TEST(Runtime, NoCudaDriver) {
  ScopedEnv env("ATTN_CUDA_LIBRARY", nullptr);
  if (libraryPresent("libcuda.so.1"))
    GTEST_SKIP() << "a CUDA driver is installed here";
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(kManifest, nullptr, 0, &b), ATTN_OK);
  void *t[2] = {nullptr, nullptr};
  attn_launch_args a{t, 2, 1, 64, 64};
  // The sm_80 binary's bytes are not even needed: the driver check comes first.
  EXPECT_EQ(attn_bundle_launch(b, "sm_80", &a, nullptr), ATTN_ERR_NO_DRIVER);
  EXPECT_STREQ(attn_last_error(), "CUDA driver (libcuda.so.1) not found");
  attn_bundle_free(b);
}

TEST(Runtime, NoHipRuntime) {
  ScopedEnv env("ATTN_HIP_LIBRARY", nullptr);
  if (libraryPresent("libamdhip64.so") || libraryPresent("libamdhip64.so.6") ||
      libraryPresent("libamdhip64.so.7") || libraryPresent("/opt/rocm/lib/libamdhip64.so"))
    GTEST_SKIP() << "a HIP runtime is installed here";
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(kManifest, nullptr, 0, &b), ATTN_OK);
  void *t[2] = {nullptr, nullptr};
  attn_launch_args a{t, 2, 1, 64, 64};
  EXPECT_EQ(attn_bundle_launch(b, "gfx942", &a, nullptr), ATTN_ERR_NO_DRIVER);
  EXPECT_STREQ(attn_last_error(), "HIP runtime (libamdhip64.so) not found");
  attn_bundle_free(b);
}

// ---- CPU launches ------------------------------------------------------------

class CpuLaunch : public ::testing::Test {
protected:
  static void SetUpTestSuite() {
    if (!haveCompiler())
      return;
    dir = makeTempDir();
    soPath = buildSharedObject(dir, "kernel.so", kCpuKernel);
    if (soPath.empty())
      return;
    std::string bytes = readFile(soPath);
    so.assign(bytes.begin(), bytes.end());
    ASSERT_EQ(writeBundle(addkBundle(so), dir + "/bundle"), "");
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (!dir.empty())
      std::filesystem::remove_all(dir, ec);
  }
  void SetUp() override {
    if (!haveCompiler())
      GTEST_SKIP() << "no C compiler (" << ATTN_C_COMPILER << ")";
    ASSERT_FALSE(soPath.empty()) << "building the test kernel failed";
  }
  static std::string dir, soPath;
  static std::vector<uint8_t> so;
};
std::string CpuLaunch::dir, CpuLaunch::soPath;
std::vector<uint8_t> CpuLaunch::so;

TEST_F(CpuLaunch, FromManifestFile) {
  std::string manifest = dir + "/bundle/addk.json";
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load(manifest.c_str(), &b), ATTN_OK) << attn_last_error();

  // Threads: the runtime dlopens DIR/bundle/addk.cpu.so; the same handle
  // gives us the kernel's counters.
  int64_t prevCalls = 0, prevItems = 0;
  for (const char *threads : {"1", "3", "64"}) {
    ScopedEnv env("ATTN_NUM_THREADS", threads);
    AddkData data(2, 7); // 2*2*7 = 28 work items, m is [2, ceil(7/3) = 3]
    attn_launch_args args = data.args();
    ASSERT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_OK) << attn_last_error();
    data.check();
    void *h = dlopen((dir + "/bundle/addk.cpu.so").c_str(), RTLD_NOW | RTLD_NOLOAD);
    ASSERT_NE(h, nullptr);
    using Get = int64_t (*)();
    int64_t calls = reinterpret_cast<Get>(dlsym(h, "test_calls"))();
    int64_t items = reinterpret_cast<Get>(dlsym(h, "test_items"))();
    int64_t expectCalls = std::min<int64_t>(28, std::atoi(threads));
    EXPECT_EQ(calls - prevCalls, expectCalls) << threads << " threads";
    EXPECT_EQ(items - prevItems, 28);
    prevCalls = calls, prevItems = items;
    EXPECT_EQ(reinterpret_cast<Get>(dlsym(h, "test_msize"))(), 3);
    EXPECT_EQ(reinterpret_cast<Get>(dlsym(h, "test_qstride0"))(), 2 * 7 * 4);
    dlclose(h);
  }

  // "auto" falls back to the CPU binary (the bundle has no GPU binary).
  AddkData data(1, 5);
  attn_launch_args args = data.args();
  ASSERT_EQ(attn_bundle_launch(b, "auto", &args, nullptr), ATTN_OK) << attn_last_error();
  data.check();
  ASSERT_EQ(attn_bundle_launch(b, nullptr, &args, nullptr), ATTN_OK) << attn_last_error();

  // Empty problems launch nothing and succeed; null tensors are fine then.
  std::vector<void *> none(5, nullptr);
  attn_launch_args empty{none.data(), none.size(), 0, 5, 5};
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &empty, nullptr), ATTN_OK) << attn_last_error();
  attn_launch_args nullData{none.data(), none.size(), 1, 5, 5};
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &nullData, nullptr), ATTN_ERR_INVALID);
  attn_bundle_free(b);
}

TEST_F(CpuLaunch, FromMemory) {
  std::string json = manifestJson(addkBundle(so));
  attn_blob blob{"addk.cpu.so", so.data(), so.size()};
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  ScopedEnv env("ATTN_NUM_THREADS", "4");
  for (int64_t s : {1, 3, 10, 33}) {
    AddkData data(3, s);
    attn_launch_args args = data.args();
    ASSERT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_OK) << attn_last_error();
    data.check();
  }
  attn_bundle_free(b);

  // Concurrent first launches of one bundle: the .so is loaded once, every
  // caller gets its own complete result.
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  std::vector<AddkData> data;
  for (int t = 0; t < 6; ++t)
    data.emplace_back(2, 5 + t);
  std::vector<attn_status> status(data.size(), ATTN_ERR_INVALID);
  std::vector<std::thread> pool;
  for (size_t t = 0; t < data.size(); ++t)
    pool.emplace_back([&, t] {
      attn_launch_args args = data[t].args();
      status[t] = attn_bundle_launch(b, "cpu", &args, nullptr);
    });
  for (std::thread &th : pool)
    th.join();
  for (size_t t = 0; t < data.size(); ++t) {
    EXPECT_EQ(status[t], ATTN_OK) << t;
    data[t].check();
  }
  attn_bundle_free(b);
}

TEST_F(CpuLaunch, StaleBinaryAndBadEntry) {
  // Size in the manifest disagrees with the file: FORMAT, not a crash.
  std::string d2 = dir + "/stale";
  ASSERT_EQ(writeBundle(addkBundle(so), d2), "");
  std::ofstream(d2 + "/addk.cpu.so", std::ios::app) << "x";
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load((d2 + "/addk.json").c_str(), &b), ATTN_OK);
  AddkData data(1, 3);
  attn_launch_args args = data.args();
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_FORMAT);
  EXPECT_NE(std::string(attn_last_error()).find("stale"), std::string::npos);
  attn_bundle_free(b);

  // Missing file: IO.
  unlink((d2 + "/addk.cpu.so").c_str());
  ASSERT_EQ(attn_bundle_load((d2 + "/addk.json").c_str(), &b), ATTN_OK);
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_IO);
  attn_bundle_free(b);

  // Entry symbol missing: LAUNCH.
  BundleDesc d = addkBundle(so);
  d.kernels[0].entry = "_mlir_ciface_nope";
  std::string json = manifestJson(d);
  attn_blob blob{"addk.cpu.so", so.data(), so.size()};
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK);
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_LAUNCH);
  EXPECT_NE(std::string(attn_last_error()).find("_mlir_ciface_nope"), std::string::npos);
  attn_bundle_free(b);

  // A work-item formula that does not divide: FORMAT with the reason.
  d = addkBundle(so);
  d.kernels[0].workItems = "B*Hq*Sq/4"; // 1*2*3/4
  json = manifestJson(d);
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK);
  AddkData odd(1, 3);
  args = odd.args();
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_FORMAT);
  EXPECT_NE(std::string(attn_last_error()).find("not an integer"), std::string::npos)
      << attn_last_error();
  attn_bundle_free(b);

  // A workspace the launch sizes make too large to allocate (4e18 bytes at
  // B = 1) or to compute (past int64 at B = 3): errors of that launch, not
  // an exception through the C API or a wrapped size.
  d = addkBundle(so);
  d.kernels[0].workspaceBytes = "4*B*1000000000000000000";
  json = manifestJson(d);
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  AddkData one(1, 3), three(3, 3);
  args = one.args();
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_LAUNCH);
  EXPECT_NE(std::string(attn_last_error()).find("cannot allocate"), std::string::npos)
      << attn_last_error();
  args = three.args();
  EXPECT_EQ(attn_bundle_launch(b, "cpu", &args, nullptr), ATTN_ERR_INVALID);
  EXPECT_NE(std::string(attn_last_error()).find("integer overflow"), std::string::npos)
      << attn_last_error();
  attn_bundle_free(b);
}

// The generated header, compiled as C99 and linked against libattn_runtime:
// what a user does to embed a kernel.
TEST_F(CpuLaunch, GeneratedHeaderEndToEnd) {
  std::string d = dir + "/bundle";
  std::ofstream(d + "/main.c") << R"C(
#include "addk.h"
#include <stdio.h>
#include <string.h>
enum { B = 2, H = 2, S = 5, D = 4, MC = 2 };
static float q[B * H * S * D], k[B * H * S * D], o[B * H * S * D], lse[B * H * S];
static int8_t m[B * MC] = {1, 0, 0, 1};
int main(void) {
  addk_args a;
  const char *targets[2] = {"cpu", "auto"};
  int t, i, bad = 0;
  for (i = 0; i < B * H * S * D; ++i)
    q[i] = (float)i, k[i] = 0.5f;
  memset(&a, 0, sizeof a);
  a.q = q, a.k = k, a.m = m, a.o = o, a.lse = lse, a.B = B, a.Sq = S, a.Skv = S;
  for (t = 0; t < 2; ++t) {
    attn_status st = addk_launch(&a, targets[t], NULL);
    if (st != ATTN_OK) {
      fprintf(stderr, "%s: %s\n", attn_status_name(st), attn_last_error());
      return 1;
    }
    for (i = 0; i < B * H * S * D; ++i) {
      int row = i / D, b = row / (H * S), s = row % S;
      float want = m[b * MC + s / 3] ? q[i] + 0.5f : 0.0f;
      bad += o[i] != want;
    }
  }
  if (addk_launch(NULL, "cpu", NULL) != ATTN_ERR_INVALID)
    bad++;
  {
    /* No workspace: size 0, and a caller's workspace is ignored. */
    size_t ws = 1;
    static float spare[4];
    if (addk_workspace_size(&a, "cpu", &ws) != ATTN_OK || ws != 0)
      bad++;
    memset(o, 0, sizeof o);
    if (addk_launch_with_workspace(&a, "cpu", NULL, spare, sizeof spare) != ATTN_OK ||
        o[D] != q[D] + 0.5f)
      bad++;
  }
  printf("%s\n", bad ? "FAIL" : "OK");
  return bad != 0;
}
)C";
  std::string lib = ATTN_RUNTIME_LIB;
  std::string libDir = lib.substr(0, lib.rfind('/'));
  std::string exe = d + "/main";
  std::string cmd = std::string(ATTN_C_COMPILER) + " -std=c99 -Wall -Wextra -Werror -I" + d +
                    " -I" + ATTN_RUNTIME_INCLUDE_DIR + " " + d + "/main.c " + lib +
                    " -Wl,-rpath," + libDir + " -o " + exe;
  ASSERT_EQ(std::system(cmd.c_str()), 0) << cmd;
  EXPECT_EQ(std::system(exe.c_str()), 0) << exe;
}

// ---- GPU paths through fake drivers --------------------------------------------

namespace {

const char *kFakeCuda = R"C(
#include <stdint.h>
#include <string.h>
static int ccMajor = 9, ccMinor = 0, initResult = 0;
static void *current;
static int ctxToken;
static int launches, loads, smemAttr = -1, nparams;
static unsigned grid[3], block[3], smem;
static void *stream;
static uint64_t params[64];
static char image[64], function[128];
/* Tensor maps: what cuTensorMapEncodeTiled was asked for, what was launched. */
static int nmaps, encodes, encodeResult, mapType[8], mapRank[8], mapSwizzle[8], mapOob[8];
static void *mapAddress[8];
static uint64_t mapDims[8][5], mapStrides[8][4];
static unsigned mapBox[8][5];
static uint64_t launchedMaps[8][16];
static int misalignedMaps;
void fake_config(int major, int minor, int init, int np) {
  ccMajor = major, ccMinor = minor, initResult = init, nparams = np;
}
void fake_config_maps(int n, int result) { nmaps = n, encodeResult = result, encodes = 0; }
int fake_encodes(void) { return encodes; }
int fake_map_type(int i) { return mapType[i]; }
int fake_map_rank(int i) { return mapRank[i]; }
int fake_map_swizzle(int i) { return mapSwizzle[i]; }
int fake_map_oob(int i) { return mapOob[i]; }
void *fake_map_address(int i) { return mapAddress[i]; }
const uint64_t *fake_map_dims(int i) { return mapDims[i]; }
const uint64_t *fake_map_strides(int i) { return mapStrides[i]; }
const unsigned *fake_map_box(int i) { return mapBox[i]; }
const uint64_t *fake_launched_map(int i) { return launchedMaps[i]; }
int fake_misaligned_maps(void) { return misalignedMaps; }
int cuTensorMapEncodeTiled(uint64_t *map, int type, unsigned rank, void *addr,
                           const uint64_t *dims, const uint64_t *strides, const unsigned *box,
                           const unsigned *elementStrides, int interleave, int swizzle, int l2,
                           int oob) {
  unsigned i;
  int n = encodes++ % 8;
  (void)elementStrides, (void)interleave, (void)l2;
  if (encodeResult) return encodeResult;
  /* As the driver: CUDA_ERROR_INVALID_VALUE for a zero extent or null. */
  for (i = 0; i < rank; ++i)
    if (!dims[i]) return 1;
  if (!addr) return 1;
  mapType[n] = type, mapRank[n] = (int)rank, mapSwizzle[n] = swizzle, mapOob[n] = oob;
  mapAddress[n] = addr;
  for (i = 0; i < rank && i < 5; ++i) mapDims[n][i] = dims[i], mapBox[n][i] = box[i];
  for (i = 0; i + 1 < rank && i < 4; ++i) mapStrides[n][i] = strides[i];
  /* A recognizable map: the address, then its index. */
  memset(map, 0, 128);
  map[0] = (uint64_t)(uintptr_t)addr, map[1] = 0xA770000u + (unsigned)n;
  return 0;
}
int fake_launches(void) { return launches; }
int fake_loads(void) { return loads; }
int fake_smem_attr(void) { return smemAttr; }
const unsigned *fake_grid(void) { return grid; }
const unsigned *fake_block(void) { return block; }
unsigned fake_smem(void) { return smem; }
void *fake_stream(void) { return stream; }
const uint64_t *fake_params(void) { return params; }
const char *fake_image(void) { return image; }
const char *fake_function(void) { return function; }
int cuInit(unsigned f) { (void)f; return initResult; }
int cuDeviceGetCount(int *n) { *n = 1; return 0; }
int cuDeviceGet(int *d, int i) { *d = i; return 0; }
int cuDeviceGetAttribute(int *v, int attr, int dev) {
  (void)dev;
  *v = attr == 75 ? ccMajor : attr == 76 ? ccMinor : attr == 97 ? 232448
      : attr == 16 ? 5 /* multiprocessors */ : 0;
  return 0;
}
int cuDevicePrimaryCtxRetain(void **c, int d) { (void)d; *c = &ctxToken; return 0; }
int cuCtxGetCurrent(void **c) { *c = current; return 0; }
int cuCtxSetCurrent(void *c) { current = c; return 0; }
int cuCtxGetDevice(int *d) { *d = 0; return 0; }
int cuModuleLoadDataEx(void **m, const void *img, unsigned n, int *opts, void **vals) {
  (void)opts;
  ++loads;
  strncpy(image, (const char *)img, sizeof image - 1);
  if (strncmp(image, "BAD", 3) == 0) {
    if (n >= 1) strcpy((char *)vals[0], "ptxas fatal: fake error log");
    return 218;
  }
  *m = &loads;
  return 0;
}
int cuModuleGetFunction(void **f, void *m, const char *name) {
  (void)m;
  strncpy(function, name, sizeof function - 1);
  if (strcmp(name, "missing") == 0) return 500;
  *f = function;
  return 0;
}
int cuModuleUnload(void *m) { (void)m; return 0; }
int cuFuncSetAttribute(void *f, int attr, int v) { (void)f; if (attr == 8) smemAttr = v; return 0; }
int cuLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by,
                   unsigned bz, unsigned sm, void *st, void **p, void **extra) {
  int i;
  (void)f, (void)extra;
  ++launches;
  grid[0] = gx, grid[1] = gy, grid[2] = gz, block[0] = bx, block[1] = by, block[2] = bz;
  smem = sm, stream = st;
  for (i = 0; i < nparams && i < 64; ++i) params[i] = *(const uint64_t *)p[i];
  for (i = 0; i < nmaps && i < 8; ++i) {
    if ((uintptr_t)p[nparams + i] % 64) ++misalignedMaps;
    memcpy(launchedMaps[i], p[nparams + i], 128);
  }
  return 0;
}
int cuGetErrorString(int r, const char **s) { *s = r == 100 ? "no CUDA-capable device" : "fake error"; return 0; }
int cuStreamSynchronize(void *s) { (void)s; return 0; }
)C";

const char *kFakeHip = R"C(
#include <stdint.h>
#include <string.h>
static char arch[64] = "gfx942:sramecc+:xnack-";
static int launches, nparams;
static unsigned grid[3], block[3];
static uint64_t params[64];
static char image[64];
void fake_config(const char *a, int np) { strcpy(arch, a); nparams = np; }
int fake_launches(void) { return launches; }
const unsigned *fake_grid(void) { return grid; }
const unsigned *fake_block(void) { return block; }
const uint64_t *fake_params(void) { return params; }
const char *fake_image(void) { return image; }
int hipInit(unsigned f) { (void)f; return 0; }
int hipGetDeviceCount(int *n) { *n = 1; return 0; }
int hipGetDevice(int *d) { *d = 0; return 0; }
/* A hipDeviceProp_t stand-in: the name first, the arch somewhere later. */
int hipGetDevicePropertiesR0600(void *p, int d) {
  (void)d;
  memset(p, 0x11, 1160);
  strcpy((char *)p, "AMD Instinct MI300X");
  strcpy((char *)p + 1160, arch);
  return 0;
}
int hipModuleLoadData(void **m, const void *img) { strncpy(image, (const char *)img, 63); *m = image; return 0; }
int hipModuleGetFunction(void **f, void *m, const char *n) { (void)m; (void)n; *f = image; return 0; }
int hipModuleUnload(void *m) { (void)m; return 0; }
int hipModuleLaunchKernel(void *f, unsigned gx, unsigned gy, unsigned gz, unsigned bx,
                          unsigned by, unsigned bz, unsigned sm, void *st, void **p, void **e) {
  int i;
  (void)f, (void)sm, (void)st, (void)e;
  ++launches;
  grid[0] = gx, grid[1] = gy, grid[2] = gz, block[0] = bx, block[1] = by, block[2] = bz;
  for (i = 0; i < nparams && i < 64; ++i) params[i] = *(const uint64_t *)p[i];
  return 0;
}
const char *hipGetErrorString(int r) { (void)r; return "fake hip error"; }
int hipStreamSynchronize(void *s) { (void)s; return 0; }
#ifndef NO_ASYNC_ALLOC
/* Stream-ordered workspace: one buffer, its size, the zeroed prefix (its
   first word set nonzero first, so a missing memset shows), the frees. */
static uint32_t workspace[64];
static size_t allocated, zeroed;
static int frees;
int hipMallocAsync(void **p, size_t n, void *s) {
  (void)s;
  allocated = n;
  workspace[0] = 0xdeadbeef;
  *p = workspace;
  return 0;
}
static void *zeroedAt;
int hipMemsetAsync(void *p, int v, size_t n, void *s) {
  (void)s;
  /* The runtime's allocation, or a caller's workspace (the tests' buffers
     have room for n). */
  memset(p, v, p == workspace && n > sizeof workspace ? sizeof workspace : n);
  zeroed = n;
  zeroedAt = p;
  return 0;
}
void *fake_zeroed_at(void) { return zeroedAt; }
int hipFreeAsync(void *p, void *s) { (void)s; if (p == workspace) ++frees; return 0; }
size_t fake_allocated(void) { return allocated; }
size_t fake_zeroed(void) { return zeroed; }
int fake_frees(void) { return frees; }
uint32_t fake_workspace_word(void) { return workspace[0]; }
#endif
)C";

template <typename T> T fakeSym(void *h, const char *name) {
  void *p = dlsym(h, name);
  EXPECT_NE(p, nullptr) << name;
  return reinterpret_cast<T>(p);
}

/// A bundle with a GPU kernel per given (target, format); the "binaries"
/// are text naming themselves so the fake driver can report what it loaded.
std::string gpuManifest(const std::vector<std::pair<std::string, std::string>> &kernels,
                        std::vector<std::string> &files, std::vector<std::string> &bytes,
                        int64_t smem = 0, const char *contentOverride = nullptr,
                        const std::vector<BundleTensorMap> &maps = {},
                        const std::string &workspaceBytes = "",
                        const std::string &workspaceZeroBytes = "",
                        bool workspaceZeroOnExit = false) {
  BundleDesc d;
  d.name = "g";
  d.constants = {{"Hq", 8}, {"blockQ", 128}};
  d.args = {{"q", "bf16", {"B", "Hq", "Sq", "64"}, false},
            {"k", "bf16", {"B", "2", "Skv", "64"}, false},
            {"o", "bf16", {"B", "Hq", "Sq", "64"}, true},
            {"B", "i64", {}, false},
            {"Sq", "i64", {}, false},
            {"Skv", "i64", {}, false}};
  files.clear(), bytes.clear();
  for (const auto &tf : kernels) {
    BundleKernel k;
    k.target = tf.first, k.format = tf.second;
    k.file = "g." + k.target + "." + k.format;
    std::string content = contentOverride ? contentOverride : k.target + "-" + k.format;
    content.push_back('\0'); // the fakes read it as a C string
    k.binary.assign(content.begin(), content.end());
    k.entry = "g_kernel";
    k.gridX = "ceil(Sq/blockQ)", k.gridY = "Hq", k.gridZ = "B";
    k.blockX = 256;
    k.dynamicSmemBytes = smem;
    k.paramAbi = maps.empty() ? "flat-memref" : "flat-memref+tma";
    k.tensorMaps = maps;
    k.workspaceBytes = workspaceBytes, k.workspaceZeroBytes = workspaceZeroBytes;
    k.workspaceZeroOnExit = workspaceZeroOnExit;
    files.push_back(k.file);
    bytes.push_back(content);
    d.kernels.push_back(k);
  }
  EXPECT_EQ(validateBundle(d), "");
  return manifestJson(d);
}

/// The fake HIP runtime built in `dir` as `name` (its path in `lib`),
/// opened and reporting a gfx90a device with 23 CUs; null on failure.
void *gfx90aFakeHip(const std::string &dir, const char *name, std::string &lib) {
  lib = buildSharedObject(dir, name, kFakeHip);
  void *h = lib.empty() ? nullptr : dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!h) {
    ADD_FAILURE() << "fake HIP runtime " << name << ": " << (lib.empty() ? "" : dlerror());
    return nullptr;
  }
  fakeSym<void (*)(const char *, int)>(h, "fake_config")("gfx90a", 23);
  return h;
}

attn_bundle *loadGpu(const std::vector<std::pair<std::string, std::string>> &kernels,
                     int64_t smem = 0) {
  std::vector<std::string> files, bytes;
  std::string json = gpuManifest(kernels, files, bytes, smem);
  std::vector<attn_blob> blobs;
  for (size_t i = 0; i < files.size(); ++i)
    blobs.push_back({files[i].c_str(), bytes[i].data(), bytes[i].size()});
  attn_bundle *b = nullptr;
  EXPECT_EQ(attn_bundle_load_memory(json.c_str(), blobs.data(), blobs.size(), &b), ATTN_OK)
      << attn_last_error();
  return b;
}

} // namespace

TEST(Runtime, FakeCudaDriver) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  std::string lib = buildSharedObject(dir, "libfakecuda.so", kFakeCuda);
  ASSERT_FALSE(lib.empty());
  void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  const int kParams = 3 * 5 + 3; // three tensors as flat memrefs, then B, Sq, Skv
  fakeSym<void (*)(int, int, int, int)>(h, "fake_config")(9, 0, 0, kParams);
  ScopedEnv env("ATTN_CUDA_LIBRARY", lib.c_str());
  ScopedEnv sync("ATTN_RUNTIME_SYNC", "1");
  auto launches = fakeSym<int (*)()>(h, "fake_launches");
  auto image = fakeSym<const char *(*)()>(h, "fake_image");
  auto grid = fakeSym<const unsigned *(*)()>(h, "fake_grid");
  auto block = fakeSym<const unsigned *(*)()>(h, "fake_block");
  auto params = fakeSym<const uint64_t *(*)()>(h, "fake_params");

  // B=2, Hq=8, Sq=300, Skv=500: grid (ceil(300/128), 8, 2) = (3, 8, 2).
  alignas(16) static char q[16], k[16], o[16];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 2, 300, 500};
  void *stream = reinterpret_cast<void *>(0x5a5a);

  // auto on an sm_90 device: the exact sm_90 cubin beats sm_80's PTX and cubin.
  attn_bundle *b = loadGpu({{"sm_80", "cubin"}, {"sm_80", "ptx"}, {"sm_90", "cubin"}});
  const char *chosen = nullptr;
  ASSERT_EQ(attn_bundle_select(b, "auto", &chosen, nullptr), ATTN_OK) << attn_last_error();
  EXPECT_STREQ(chosen, "sm_90");
  ASSERT_EQ(attn_bundle_launch(b, "auto", &a, stream), ATTN_OK) << attn_last_error();
  EXPECT_EQ(launches(), 1);
  EXPECT_STREQ(image(), "sm_90-cubin");
  EXPECT_STREQ(fakeSym<const char *(*)()>(h, "fake_function")(), "g_kernel");
  EXPECT_EQ(grid()[0], 3u);
  EXPECT_EQ(grid()[1], 8u);
  EXPECT_EQ(grid()[2], 2u);
  EXPECT_EQ(block()[0], 256u);
  EXPECT_EQ(block()[1], 1u);
  EXPECT_EQ(fakeSym<void *(*)()>(h, "fake_stream")(), stream);
  const uint64_t *p = params();
  int64_t numel[3] = {2 * 8 * 300 * 64, 2 * 2 * 500 * 64, 2 * 8 * 300 * 64};
  for (int t = 0; t < 3; ++t) {
    EXPECT_EQ(p[5 * t + 0], reinterpret_cast<uint64_t>(tensors[t])) << t;
    EXPECT_EQ(p[5 * t + 1], reinterpret_cast<uint64_t>(tensors[t])) << t;
    EXPECT_EQ(p[5 * t + 2], 0u) << t;
    EXPECT_EQ(p[5 * t + 3], static_cast<uint64_t>(numel[t])) << t;
    EXPECT_EQ(p[5 * t + 4], 1u) << t;
  }
  EXPECT_EQ(p[15], 2u);
  EXPECT_EQ(p[16], 300u);
  EXPECT_EQ(p[17], 500u);

  // The module is loaded once per context.
  int loadsBefore = fakeSym<int (*)()>(h, "fake_loads")();
  ASSERT_EQ(attn_bundle_launch(b, "sm_90", &a, stream), ATTN_OK) << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_loads")(), loadsBefore);

  // Explicit sm_80 on an sm_90 device: the cubin cannot run, the PTX can (JIT).
  ASSERT_EQ(attn_bundle_launch(b, "sm_80", &a, stream), ATTN_OK) << attn_last_error();
  EXPECT_STREQ(image(), "sm_80-ptx");

  // Misaligned tensors are refused before anything is launched.
  int before = launches();
  void *shifted[3] = {q + 2, k, o};
  attn_launch_args bad{shifted, 3, 2, 300, 500};
  EXPECT_EQ(attn_bundle_launch(b, "sm_90", &bad, stream), ATTN_ERR_INVALID);
  EXPECT_NE(std::string(attn_last_error()).find("not 16-byte aligned"), std::string::npos)
      << attn_last_error();
  EXPECT_EQ(launches(), before);

  // Sq = 0: nothing to launch.
  attn_launch_args empty{tensors, 3, 2, 0, 500};
  EXPECT_EQ(attn_bundle_launch(b, "sm_90", &empty, stream), ATTN_OK);
  EXPECT_EQ(launches(), before);
  attn_bundle_free(b);

  // Only an sm_80 cubin on an sm_90 device: no binary, with the reason.
  b = loadGpu({{"sm_80", "cubin"}});
  EXPECT_EQ(attn_bundle_launch(b, "sm_80", &a, stream), ATTN_ERR_NO_BINARY);
  EXPECT_NE(std::string(attn_last_error()).find("cannot run on this sm_90 device"),
            std::string::npos)
      << attn_last_error();
  attn_bundle_free(b);

  // On an sm_86 device an sm_80 cubin runs, an sm_90 one does not (the
  // device arch is cached per driver library, so use a fresh copy of the fake).
  std::string lib86 = dir + "/libfakecuda86.so";
  ASSERT_EQ(std::system(("cp " + lib + " " + lib86).c_str()), 0);
  void *h86 = dlopen(lib86.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h86, nullptr);
  fakeSym<void (*)(int, int, int, int)>(h86, "fake_config")(8, 6, 0, kParams);
  {
    ScopedEnv env86("ATTN_CUDA_LIBRARY", lib86.c_str());
    b = loadGpu({{"sm_90", "cubin"}, {"sm_80", "cubin"}});
    ASSERT_EQ(attn_bundle_select(b, "auto", &chosen, nullptr), ATTN_OK) << attn_last_error();
    EXPECT_STREQ(chosen, "sm_80");
    attn_bundle_free(b);
  }

  // Dynamic shared memory above 48 KiB is opted into before the launch.
  b = loadGpu({{"sm_90", "cubin"}}, 200 * 1024);
  ASSERT_EQ(attn_bundle_launch(b, "sm_90", &a, stream), ATTN_OK) << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_smem_attr")(), 200 * 1024);
  EXPECT_EQ(fakeSym<unsigned (*)()>(h, "fake_smem")(), 200u * 1024);
  attn_bundle_free(b);

  // A persistent kernel's grid names the device's multiprocessors (the
  // fake reports 5): min(2 x 8 x 3 tiles, 5) = 5 CTAs.
  {
    std::vector<std::string> files, bytes;
    std::string json = gpuManifest({{"sm_90", "cubin"}}, files, bytes);
    std::string tiles = "\"ceil(Sq/blockQ)\"";
    size_t at = json.find(tiles);
    ASSERT_NE(at, std::string::npos);
    json.replace(at, tiles.size(), "\"min(B*Hq*ceil(Sq/blockQ),SMs)\"");
    attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
    ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
    ASSERT_EQ(attn_bundle_launch(b, "sm_90", &a, stream), ATTN_OK) << attn_last_error();
    EXPECT_EQ(grid()[0], 5u);
    attn_bundle_free(b);
    // Only grids may name it: a tensor's shape may not.
    at = json.find("\"Sq\", \"64\"");
    ASSERT_NE(at, std::string::npos);
    json.replace(at, 4, "\"SMs\"");
    EXPECT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_ERR_FORMAT);
    EXPECT_NE(std::string(attn_last_error()).find("unknown name 'SMs'"), std::string::npos)
        << attn_last_error();
  }

  // A module the driver rejects: LAUNCH with the JIT log.
  {
    std::vector<std::string> files, bytes;
    std::string json = gpuManifest({{"sm_90", "ptx"}}, files, bytes, 0, "BAD ptx");
    attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
    ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
    EXPECT_EQ(attn_bundle_launch(b, "sm_90", &a, stream), ATTN_ERR_LAUNCH);
    EXPECT_NE(std::string(attn_last_error()).find("fake error log"), std::string::npos)
        << attn_last_error();
    attn_bundle_free(b);
  }

  // A driver without devices: NO_DEVICE; "auto" then falls back to... nothing.
  std::string libNoDev = dir + "/libfakecuda-nodev.so";
  ASSERT_EQ(std::system(("cp " + lib + " " + libNoDev).c_str()), 0);
  void *hn = dlopen(libNoDev.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(hn, nullptr);
  fakeSym<void (*)(int, int, int, int)>(hn, "fake_config")(9, 0, 100, kParams);
  {
    ScopedEnv envNoDev("ATTN_CUDA_LIBRARY", libNoDev.c_str());
    b = loadGpu({{"sm_90", "cubin"}});
    EXPECT_EQ(attn_bundle_launch(b, "sm_90", &a, stream), ATTN_ERR_NO_DEVICE);
    EXPECT_NE(std::string(attn_last_error()).find("no CUDA device"), std::string::npos)
        << attn_last_error();
    EXPECT_EQ(attn_bundle_launch(b, "auto", &a, stream), ATTN_ERR_NO_BINARY);
    EXPECT_NE(std::string(attn_last_error()).find("no CUDA device"), std::string::npos)
        << attn_last_error();
    attn_bundle_free(b);
  }
}

TEST(Runtime, FakeHipRuntime) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  std::string lib = buildSharedObject(dir, "libfakehip.so", kFakeHip);
  ASSERT_FALSE(lib.empty());
  void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  fakeSym<void (*)(const char *, int)>(h, "fake_config")("gfx942:sramecc+:xnack-", 18);
  ScopedEnv env("ATTN_HIP_LIBRARY", lib.c_str());
  ScopedEnv noCuda("ATTN_CUDA_LIBRARY", (dir + "/no-such-libcuda.so").c_str());

  alignas(16) static char q[1], k[1], o[1];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 1, 129, 7};
  attn_bundle *b = loadGpu({{"sm_90", "cubin"}, {"gfx90a", "hsaco"}, {"gfx942", "hsaco"}});
  const char *chosen = nullptr;
  ASSERT_EQ(attn_bundle_select(b, "auto", &chosen, nullptr), ATTN_OK) << attn_last_error();
  EXPECT_STREQ(chosen, "gfx942");
  ASSERT_EQ(attn_bundle_launch(b, "auto", &a, nullptr), ATTN_OK) << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_launches")(), 1);
  EXPECT_STREQ(fakeSym<const char *(*)()>(h, "fake_image")(), "gfx942-hsaco");
  const unsigned *grid = fakeSym<const unsigned *(*)()>(h, "fake_grid")();
  EXPECT_EQ(grid[0], 2u);
  EXPECT_EQ(grid[1], 8u);
  EXPECT_EQ(grid[2], 1u);
  const uint64_t *p = fakeSym<const uint64_t *(*)()>(h, "fake_params")();
  EXPECT_EQ(p[3], uint64_t(1 * 8 * 129 * 64));
  EXPECT_EQ(p[8], uint64_t(1 * 2 * 7 * 64));
  EXPECT_EQ(p[15], 1u);
  EXPECT_EQ(p[16], 129u);
  EXPECT_EQ(p[17], 7u);

  // gfx90a code does not run on gfx942.
  EXPECT_EQ(attn_bundle_launch(b, "gfx90a", &a, nullptr), ATTN_ERR_NO_BINARY);
  EXPECT_NE(std::string(attn_last_error()).find("gfx942 device"), std::string::npos)
      << attn_last_error();
  attn_bundle_free(b);
}

/// A stream-K kernel's workspace on the HIP path: allocated on the launch's
/// stream, its counters zeroed, passed as one more flat memref after the
/// scalars, freed after the launch; a HIP runtime without stream-ordered
/// allocation refuses such a kernel with a message, not a crash.
TEST(Runtime, FakeHipRuntimeWorkspace) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  const std::string &dir = tmp.path;
  std::string lib = buildSharedObject(dir, "libfakehipws.so", kFakeHip);
  std::string old = buildSharedObject(dir, "libfakehipold.so",
                                      std::string("#define NO_ASYNC_ALLOC\n") + kFakeHip);
  ASSERT_FALSE(lib.empty());
  ASSERT_FALSE(old.empty());
  void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  fakeSym<void (*)(const char *, int)>(h, "fake_config")("gfx90a:sramecc+:xnack-", 23);
  ScopedEnv noCuda("ATTN_CUDA_LIBRARY", (dir + "/no-such-libcuda.so").c_str());

  std::vector<std::string> files, bytes;
  std::string json = gpuManifest({{"gfx90a", "hsaco"}}, files, bytes, 0, nullptr, {},
                                 /*workspaceBytes=*/"200", /*workspaceZeroBytes=*/"8");
  attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  alignas(16) static char q[1], k[1], o[1];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 1, 129, 7};
  {
    ScopedEnv env("ATTN_HIP_LIBRARY", lib.c_str());
    ASSERT_EQ(attn_bundle_launch(b, "gfx90a", &a, nullptr), ATTN_OK) << attn_last_error();
    EXPECT_EQ(fakeSym<size_t (*)()>(h, "fake_allocated")(), 200u);
    EXPECT_EQ(fakeSym<size_t (*)()>(h, "fake_zeroed")(), 8u);
    EXPECT_EQ(fakeSym<uint32_t (*)()>(h, "fake_workspace_word")(), 0u);
    EXPECT_EQ(fakeSym<int (*)()>(h, "fake_frees")(), 1);
    // q, k, o (5 words each), B, Sq, Skv, then the workspace memref
    // (allocated = aligned pointer, offset 0, 50 f32 words, stride 1).
    const uint64_t *p = fakeSym<const uint64_t *(*)()>(h, "fake_params")();
    EXPECT_NE(p[18], 0u);
    EXPECT_EQ(p[19], p[18]);
    EXPECT_EQ(p[20], 0u);
    EXPECT_EQ(p[21], 50u);
    EXPECT_EQ(p[22], 1u);
  }
  {
    void *hOld = dlopen(old.c_str(), RTLD_NOW | RTLD_LOCAL);
    ASSERT_NE(hOld, nullptr) << dlerror();
    fakeSym<void (*)(const char *, int)>(hOld, "fake_config")("gfx90a", 23);
    ScopedEnv env("ATTN_HIP_LIBRARY", old.c_str());
    EXPECT_EQ(attn_bundle_launch(b, "gfx90a", &a, nullptr), ATTN_ERR_NO_DRIVER);
    EXPECT_NE(std::string(attn_last_error()).find("lacks hipMallocAsync"), std::string::npos)
        << attn_last_error();
  }
  attn_bundle_free(b);
}

/// A caller's workspace (attn_bundle_launch_with_workspace): the launch
/// allocates and frees nothing and passes the caller's pointer; it clears
/// the zeroed prefix on the stream only for a kernel that does not leave
/// it zero itself; a workspace too small or misaligned is refused, and
/// attn_bundle_workspace_size reports the bytes the launch needs.
TEST(Runtime, FakeHipRuntimeCallerWorkspace) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  std::string lib;
  void *h = gfx90aFakeHip(tmp.path, "libfakehipcws.so", lib);
  ASSERT_NE(h, nullptr);
  ScopedEnv noCuda("ATTN_CUDA_LIBRARY", (tmp.path + "/no-such-libcuda.so").c_str());
  ScopedEnv env("ATTN_HIP_LIBRARY", lib.c_str());
  alignas(16) static char q[1], k[1], o[1];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 1, 129, 7};
  alignas(16) static uint32_t ws[64];
  auto *zeroedAt = fakeSym<void *(*)()>(h, "fake_zeroed_at");
  // (The kernel that clears its prefix first: the fake has memset nothing.)
  for (bool zeroOnExit : {true, false}) {
    SCOPED_TRACE(zeroOnExit ? "zero on exit" : "cleared by the runtime");
    std::vector<std::string> files, bytes;
    std::string json = gpuManifest({{"gfx90a", "hsaco"}}, files, bytes, 0, nullptr, {},
                                   "4*Sq+4", "8", zeroOnExit);
    EXPECT_EQ(json.find("workspace_zero_on_exit") != std::string::npos, zeroOnExit);
    attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
    attn_bundle *b = nullptr;
    ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK)
        << attn_last_error();
    size_t need = 0;
    ASSERT_EQ(attn_bundle_workspace_size(b, "gfx90a", &a, &need), ATTN_OK)
        << attn_last_error();
    EXPECT_EQ(need, 520u);
    ws[0] = ws[1] = 0xdeadbeef;
    attn_launch_args small = a;
    small.Sq = 15; // 64 bytes
    ASSERT_EQ(attn_bundle_launch_with_workspace(b, "gfx90a", &small, nullptr, ws, sizeof ws),
              ATTN_OK)
        << attn_last_error();
    EXPECT_EQ(fakeSym<size_t (*)()>(h, "fake_allocated")(), 0u);
    EXPECT_EQ(fakeSym<int (*)()>(h, "fake_frees")(), 0);
    EXPECT_EQ(zeroedAt(), zeroOnExit ? nullptr : static_cast<void *>(ws));
    EXPECT_EQ(ws[0], zeroOnExit ? 0xdeadbeefu : 0u);
    EXPECT_EQ(ws[1], zeroOnExit ? 0xdeadbeefu : 0u);
    // q, k, o (5 words each), B, Sq, Skv, then the caller's workspace.
    const uint64_t *p = fakeSym<const uint64_t *(*)()>(h, "fake_params")();
    EXPECT_EQ(p[18], reinterpret_cast<uintptr_t>(ws));
    EXPECT_EQ(p[19], p[18]);
    EXPECT_EQ(p[21], 16u); // f32 words: the launch's size, not the buffer's
    // 4 * 129 + 4 bytes do not fit in 256.
    EXPECT_EQ(attn_bundle_launch_with_workspace(b, "gfx90a", &a, nullptr, ws, sizeof ws),
              ATTN_ERR_INVALID);
    EXPECT_NE(std::string(attn_last_error()).find("needs 520"), std::string::npos)
        << attn_last_error();
    EXPECT_EQ(attn_bundle_launch_with_workspace(b, "gfx90a", &small, nullptr, ws + 1,
                                                sizeof ws - 4),
              ATTN_ERR_INVALID);
    EXPECT_NE(std::string(attn_last_error()).find("16-byte aligned"), std::string::npos)
        << attn_last_error();
    attn_bundle_free(b);
  }
}

/// A split-KV kernel's workspace grows with the launch sizes: the manifest
/// gives it (and its zeroed prefix) as formulas, evaluated per launch, and a
/// size they make invalid for one launch fails that launch with a message.
TEST(Runtime, FakeHipRuntimeWorkspaceFormula) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  std::string lib;
  void *h = gfx90aFakeHip(tmp.path, "libfakehipwsf.so", lib);
  ASSERT_NE(h, nullptr);
  ScopedEnv noCuda("ATTN_CUDA_LIBRARY", (tmp.path + "/no-such-libcuda.so").c_str());
  ScopedEnv env("ATTN_HIP_LIBRARY", lib.c_str());

  std::vector<std::string> files, bytes;
  // 2 Sq + 2: valid for Sq = 1 (checked at load) and 129, not for Sq = 2.
  std::string json = gpuManifest({{"gfx90a", "hsaco"}}, files, bytes, 0, nullptr, {},
                                 "2*Sq+2", "4*ceil(Sq/blockQ)");
  EXPECT_NE(json.find("\"workspace_bytes\": \"2*Sq+2\""), std::string::npos) << json;
  attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  alignas(16) static char q[1], k[1], o[1];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 1, 129, 7};
  ASSERT_EQ(attn_bundle_launch(b, "gfx90a", &a, nullptr), ATTN_OK) << attn_last_error();
  EXPECT_EQ(fakeSym<size_t (*)()>(h, "fake_allocated")(), 260u);
  EXPECT_EQ(fakeSym<size_t (*)()>(h, "fake_zeroed")(), 8u);
  const uint64_t *p = fakeSym<const uint64_t *(*)()>(h, "fake_params")();
  EXPECT_EQ(p[21], 65u); // f32 words
  a.Sq = 2;
  EXPECT_EQ(attn_bundle_launch(b, "gfx90a", &a, nullptr), ATTN_ERR_INVALID);
  EXPECT_NE(std::string(attn_last_error()).find("multiple of 4, got 6"), std::string::npos)
      << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_frees")(), 1);
  attn_bundle_free(b);
}

TEST(Runtime, FakeCudaDriverTensorMaps) {
  if (!haveCompiler())
    GTEST_SKIP() << "no C compiler";
  ScopedTempDir tmp;
  std::string lib = buildSharedObject(tmp.path, "libfakecudatma.so", kFakeCuda);
  ASSERT_FALSE(lib.empty());
  void *h = dlopen(lib.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(h, nullptr) << dlerror();
  const int kParams = 3 * 5 + 3;
  fakeSym<void (*)(int, int, int, int)>(h, "fake_config")(9, 0, 0, kParams);
  fakeSym<void (*)(int, int)>(h, "fake_config_maps")(2, 0);
  ScopedEnv env("ATTN_CUDA_LIBRARY", lib.c_str());
  ScopedEnv sync("ATTN_RUNTIME_SYNC", "1");

  // Maps of q (boxes 64 x 128) and k (64 x 32), in that parameter order.
  std::vector<std::string> files, bytes;
  std::vector<BundleTensorMap> maps = {{"q", {64, 128, 1, 1}, 128}, {"k", {64, 32, 1, 1}, 128}};
  std::string json = gpuManifest({{"sm_90a", "cubin"}}, files, bytes, 0, nullptr, maps);
  EXPECT_NE(json.find("\"param_abi\": \"flat-memref+tma\""), std::string::npos) << json;
  attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
  attn_bundle *b = nullptr;
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();

  alignas(16) static char q[16], k[16], o[16];
  void *tensors[3] = {q, k, o};
  attn_launch_args a{tensors, 3, 2, 300, 500};
  ASSERT_EQ(attn_bundle_launch(b, "sm_90a", &a, nullptr), ATTN_OK) << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_encodes")(), 2);
  auto dims = fakeSym<const uint64_t *(*)(int)>(h, "fake_map_dims");
  auto strides = fakeSym<const uint64_t *(*)(int)>(h, "fake_map_strides");
  auto box = fakeSym<const unsigned *(*)(int)>(h, "fake_map_box");
  // q [B=2][Hq=8][Sq=300][64] bf16, innermost first; k [2][2][500][64].
  const uint64_t qDims[4] = {64, 300, 8, 2}, kDims[4] = {64, 500, 2, 2};
  const uint64_t qStrides[3] = {128, 128 * 300, 128 * 300 * 8};
  const uint64_t kStrides[3] = {128, 128 * 500, 128 * 500 * 2};
  const unsigned qBox[4] = {64, 128, 1, 1}, kBox[4] = {64, 32, 1, 1};
  for (int d = 0; d < 4; ++d) {
    EXPECT_EQ(dims(0)[d], qDims[d]) << d;
    EXPECT_EQ(dims(1)[d], kDims[d]) << d;
    EXPECT_EQ(box(0)[d], qBox[d]) << d;
    EXPECT_EQ(box(1)[d], kBox[d]) << d;
  }
  for (int d = 0; d < 3; ++d) {
    EXPECT_EQ(strides(0)[d], qStrides[d]) << d;
    EXPECT_EQ(strides(1)[d], kStrides[d]) << d;
  }
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(fakeSym<int (*)(int)>(h, "fake_map_type")(i), 9) << "bf16";
    EXPECT_EQ(fakeSym<int (*)(int)>(h, "fake_map_rank")(i), 4);
    EXPECT_EQ(fakeSym<int (*)(int)>(h, "fake_map_swizzle")(i), 3) << "128B";
    EXPECT_EQ(fakeSym<int (*)(int)>(h, "fake_map_oob")(i), 0) << "zero fill";
  }
  EXPECT_EQ(fakeSym<void *(*)(int)>(h, "fake_map_address")(0), static_cast<void *>(q));
  EXPECT_EQ(fakeSym<void *(*)(int)>(h, "fake_map_address")(1), static_cast<void *>(k));
  // The encoded 128 bytes travel by value after B, Sq, Skv, 64-byte aligned.
  auto launched = fakeSym<const uint64_t *(*)(int)>(h, "fake_launched_map");
  EXPECT_EQ(launched(0)[0], reinterpret_cast<uint64_t>(q));
  EXPECT_EQ(launched(0)[1], 0xA770000u);
  EXPECT_EQ(launched(1)[0], reinterpret_cast<uint64_t>(k));
  EXPECT_EQ(launched(1)[1], 0xA770001u);
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_misaligned_maps")(), 0);
  const uint64_t *p = fakeSym<const uint64_t *(*)()>(h, "fake_params")();
  EXPECT_EQ(p[15], 2u);
  EXPECT_EQ(p[17], 500u);

  // Skv = 0 with a null K: the kernel loads no KV tile, but the driver
  // refuses a zero extent or a null address, so K's map describes a row of
  // Q instead and the launch goes through.
  void *noKv[3] = {q, nullptr, o};
  attn_launch_args empty{noKv, 3, 2, 300, 0};
  int encodes = fakeSym<int (*)()>(h, "fake_encodes")();
  ASSERT_EQ(attn_bundle_launch(b, "sm_90a", &empty, nullptr), ATTN_OK) << attn_last_error();
  int kMap = (encodes + 1) % 8;
  const uint64_t emptyKDims[4] = {64, 1, 2, 2};
  for (int d = 0; d < 4; ++d)
    EXPECT_EQ(dims(kMap)[d], emptyKDims[d]) << d;
  EXPECT_EQ(fakeSym<void *(*)(int)>(h, "fake_map_address")(kMap), static_cast<void *>(q));
  EXPECT_EQ(fakeSym<const uint64_t *(*)()>(h, "fake_params")()[17], 0u);

  // A map the driver refuses: INVALID with the shape, nothing launched.
  fakeSym<void (*)(int, int)>(h, "fake_config_maps")(2, 1);
  int before = fakeSym<int (*)()>(h, "fake_launches")();
  EXPECT_EQ(attn_bundle_launch(b, "sm_90a", &a, nullptr), ATTN_ERR_INVALID);
  EXPECT_NE(std::string(attn_last_error()).find("cuTensorMapEncodeTiled(bf16 64x300x8x2"),
            std::string::npos)
      << attn_last_error();
  EXPECT_EQ(fakeSym<int (*)()>(h, "fake_launches")(), before);
  attn_bundle_free(b);

  // A driver without cuTensorMapEncodeTiled still runs other kernels but
  // refuses this one with the reason.
  std::string src = kFakeCuda;
  const std::string encode = "int cuTensorMapEncodeTiled(";
  size_t at = src.find(encode);
  ASSERT_NE(at, std::string::npos);
  src.replace(at, encode.size(), "int absentTensorMapEncode(");
  std::string old = buildSharedObject(tmp.path, "libfakecudaold.so", src.c_str());
  ASSERT_FALSE(old.empty());
  void *ho = dlopen(old.c_str(), RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(ho, nullptr) << dlerror();
  fakeSym<void (*)(int, int, int, int)>(ho, "fake_config")(9, 0, 0, kParams);
  ScopedEnv envOld("ATTN_CUDA_LIBRARY", old.c_str());
  ASSERT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_OK) << attn_last_error();
  EXPECT_EQ(attn_bundle_launch(b, "sm_90a", &a, nullptr), ATTN_ERR_LAUNCH);
  EXPECT_NE(std::string(attn_last_error()).find("lacks cuTensorMapEncodeTiled"),
            std::string::npos)
      << attn_last_error();
  attn_bundle_free(b);
}

TEST(Runtime, TensorMapManifestRules) {
  // The runtime refuses tensor maps it could not encode, with the path.
  std::vector<std::string> files, bytes;
  std::string good = gpuManifest({{"sm_90a", "cubin"}}, files, bytes, 0, nullptr,
                                 {{"q", {64, 128, 1, 1}, 128}});
  auto refused = [&](const std::string &from, const std::string &to, const char *why) {
    std::string json = good;
    size_t at = json.find(from);
    ASSERT_NE(at, std::string::npos) << from;
    json.replace(at, from.size(), to);
    attn_blob blob{files[0].c_str(), bytes[0].data(), bytes[0].size()};
    attn_bundle *b = nullptr;
    EXPECT_EQ(attn_bundle_load_memory(json.c_str(), &blob, 1, &b), ATTN_ERR_FORMAT) << to;
    EXPECT_NE(std::string(attn_last_error()).find(why), std::string::npos)
        << attn_last_error();
    attn_bundle_free(b);
  };
  refused("\"arg\": \"q\"", "\"arg\": \"x\"", "no tensor argument 'x'");
  refused("\"swizzle\": 128", "\"swizzle\": 96", "expected 0, 32, 64 or 128");
  refused("[64, 128, 1, 1]", "[64, 128, 1]", "one extent per dimension");
  refused("[64, 128, 1, 1]", "[128, 128, 1, 1]", "within the swizzle span");
  refused("[64, 128, 1, 1]", "[64, 512, 1, 1]", "[1, 256]");
  refused("\"flat-memref+tma\"", "\"flat-memref\"", "only the flat-memref+tma ABI");
  refused("\"sm_90a\",\n      \"format\": \"cubin\"",
          "\"gfx942\",\n      \"format\": \"hsaco\"", "unsupported parameter ABI");
}
