//===- Runtime.cpp - Bundle manifests, kernel selection, launch ----------===//
//
// The C API: parses a bundle manifest (Json.h, Formula.h), picks the kernel
// for a target and the present device, evaluates shapes and launch sizes,
// and hands off to the CPU, CUDA or HIP loader.
//
//===----------------------------------------------------------------------===//

#include "Internal.h"
#include "Json.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <cstring>
#include <dlfcn.h>
#include <fstream>
#include <new>
#include <sstream>

using namespace attn_rt;

namespace {

thread_local std::string lastError;

bool isIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

bool knownDtype(const std::string &d) {
  static const char *const names[] = {"f64", "f32", "f16", "bf16", "i64", "i32",
                                      "i16", "i8",  "u8",  "i1"};
  for (const char *n : names)
    if (d == n)
      return true;
  return false;
}

/// Manifest reader: typed accessors with "manifest: path: message" errors.
class ManifestReader {
public:
  std::string error;

  bool fail(const std::string &path, const std::string &msg) {
    if (error.empty())
      error = "manifest: " + (path.empty() ? std::string("") : path + ": ") + msg;
    return false;
  }
  const JsonValue *field(const JsonValue &obj, const std::string &path, const char *key,
                         bool required) {
    const JsonValue *v = obj.get(key);
    if (!v && required)
      fail(path, std::string("missing \"") + key + "\"");
    return v;
  }
  bool str(const JsonValue &obj, const std::string &path, const char *key, std::string &out,
           bool required) {
    const JsonValue *v = field(obj, path, key, required);
    if (!v)
      return !required;
    if (v->kind != JsonValue::String)
      return fail(join(path, key), std::string("expected a string, got ") + jsonKindName(v->kind));
    out = v->str;
    return true;
  }
  bool integer(const JsonValue &obj, const std::string &path, const char *key, int64_t &out,
               bool required) {
    const JsonValue *v = field(obj, path, key, required);
    if (!v)
      return !required;
    if (v->kind != JsonValue::Number || !v->isInt)
      return fail(join(path, key), "expected an integer");
    out = v->integer;
    return true;
  }
  bool boolean(const JsonValue &obj, const std::string &path, const char *key, bool &out) {
    const JsonValue *v = obj.get(key);
    if (!v)
      return true;
    if (v->kind != JsonValue::Bool)
      return fail(join(path, key), "expected true or false");
    out = v->boolean;
    return true;
  }
  /// A formula given as a string, or as an integer for convenience.
  bool formula(const JsonValue &v, const std::string &path, const std::vector<std::string> &names,
               Formula &out) {
    std::string text;
    if (v.kind == JsonValue::String)
      text = v.str;
    else if (v.kind == JsonValue::Number && v.isInt)
      text = std::to_string(v.integer);
    else
      return fail(path, "expected a formula (string) or an integer");
    if (v.kind == JsonValue::Number && v.integer < 0)
      text = "(" + text + ")";
    std::string err = out.parse(text, names);
    if (!err.empty())
      return fail(path, err);
    return true;
  }
  static std::string join(const std::string &path, const std::string &key) {
    return path.empty() ? key : path + "." + key;
  }
};

/// The driver refuses a tensor map with a zero extent or a null address,
/// which an empty tensor (Skv = 0, often a null pointer) has; the kernel
/// issues no load through it (no KV tiles), but it still takes a valid map.
/// Such a map describes one box-row of another launched tensor instead:
/// zero extents become 1, and a null address becomes that of the first
/// non-empty map (there is one whenever the grid is not empty: Q's).
void describeEmptyTensorMaps(std::vector<TensorMapRequest> &maps) {
  auto empty = [](const TensorMapRequest &m) {
    return std::find(m.dims.begin(), m.dims.end(), 0u) != m.dims.end();
  };
  void *standIn = nullptr;
  for (const TensorMapRequest &m : maps)
    if (m.address && !empty(m)) {
      standIn = m.address;
      break;
    }
  for (TensorMapRequest &m : maps) {
    if (!empty(m))
      continue;
    for (uint64_t &d : m.dims)
      d = std::max<uint64_t>(d, 1);
    if (!m.address)
      m.address = standIn;
  }
}

/// The "tensor_maps" of a flat-memref+tma kernel (required there, refused
/// elsewhere); b.args must be parsed.
/// A kernel's workspace and zeroed-prefix sizes for the launch sizes `env`:
/// "" or what is wrong with them.
std::string workspaceSizes(const KernelInfo &k, const Formula::Env &env, int64_t &bytes,
                           int64_t &zeroed) {
  bytes = zeroed = 0;
  if (k.workspaceBytes.empty())
    return k.workspaceZeroBytes.empty() ? "" : "workspace_zero_bytes without workspace_bytes";
  if (std::string err = k.workspaceBytes.eval(env, bytes); !err.empty())
    return err;
  if (bytes < 0 || bytes % 4 != 0)
    return "workspace_bytes must be a non-negative multiple of 4, got " + std::to_string(bytes);
  zeroed = bytes;
  if (!k.workspaceZeroBytes.empty()) {
    if (std::string err = k.workspaceZeroBytes.eval(env, zeroed); !err.empty())
      return err;
    if (zeroed < 0 || zeroed > bytes || zeroed % 4 != 0)
      return "workspace_zero_bytes must be a multiple of 4 within workspace_bytes, got " +
             std::to_string(zeroed) + " of " + std::to_string(bytes);
  }
  return "";
}

bool parseTensorMaps(ManifestReader &r, const JsonValue &kv, const std::string &path,
                     const attn_bundle &b, KernelInfo &k) {
  const JsonValue *maps = kv.get("tensor_maps");
  bool tma = k.paramAbi == "flat-memref+tma";
  if (!maps)
    return tma ? r.fail(path + ".tensor_maps", "required by the flat-memref+tma ABI") : true;
  if (!tma)
    return r.fail(path + ".tensor_maps", "only the flat-memref+tma ABI takes tensor maps");
  if (maps->kind != JsonValue::Array || maps->items.empty())
    return r.fail(path + ".tensor_maps", "expected a non-empty array");
  for (size_t i = 0; i < maps->items.size(); ++i) {
    const JsonValue &m = maps->items[i];
    std::string mp = path + ".tensor_maps[" + std::to_string(i) + "]";
    if (m.kind != JsonValue::Object)
      return r.fail(mp, "expected an object");
    std::string arg;
    int64_t swizzle = 0;
    if (!r.str(m, mp, "arg", arg, true) || !r.integer(m, mp, "swizzle", swizzle, true))
      return false;
    TensorMapInfo info;
    const ArgInfo *a = nullptr;
    size_t t = 0;
    for (const ArgInfo &cand : b.args) {
      if (cand.scalar)
        continue;
      if (cand.name == arg) {
        a = &cand;
        break;
      }
      ++t;
    }
    if (!a)
      return r.fail(mp + ".arg", "no tensor argument '" + arg + "'");
    if (a->dtype != "f16" && a->dtype != "bf16" && a->dtype != "f32")
      return r.fail(mp + ".arg", "tensor maps take f16, bf16 or f32, not " + a->dtype);
    info.tensor = t;
    if (swizzle != 0 && swizzle != 32 && swizzle != 64 && swizzle != 128)
      return r.fail(mp + ".swizzle", "expected 0, 32, 64 or 128");
    info.swizzle = static_cast<int>(swizzle);
    const JsonValue *box = r.field(m, mp, "box", true);
    if (!box)
      return false;
    if (box->kind != JsonValue::Array || box->items.size() != a->shape.size() ||
        box->items.empty() || box->items.size() > 5)
      return r.fail(mp + ".box", "expected one extent per dimension of '" + arg + "' (1 to 5)");
    for (const JsonValue &e : box->items) {
      if (e.kind != JsonValue::Number || !e.isInt || e.integer < 1 || e.integer > 256)
        return r.fail(mp + ".box", "expected integers in [1, 256]");
      info.box.push_back(static_cast<uint32_t>(e.integer));
    }
    int64_t innerBytes = int64_t(info.box[0]) * (a->dtype == "f32" ? 4 : 2);
    if (innerBytes % 16 != 0 || (swizzle != 0 && innerBytes > swizzle))
      return r.fail(mp + ".box", "the inner extent must be a multiple of 16 bytes and within "
                                 "the swizzle span");
    k.tensorMaps.push_back(std::move(info));
  }
  return true;
}

bool parseManifest(const std::string &json, attn_bundle &b, std::string &error) {
  JsonValue root;
  std::string err = parseJson(json, root);
  if (!err.empty()) {
    error = "manifest is not valid JSON: " + err;
    return false;
  }
  ManifestReader r;
  auto done = [&](bool ok) {
    if (!ok)
      error = r.error.empty() ? std::string("manifest: invalid") : r.error;
    return ok;
  };
  if (root.kind != JsonValue::Object)
    return done(r.fail("", "top level must be an object"));
  int64_t version = 0;
  if (!r.integer(root, "", "attn_bundle", version, true))
    return done(false);
  if (version != 1)
    return done(r.fail("attn_bundle", "unsupported bundle format version " +
                                          std::to_string(version) + " (this runtime reads 1)"));
  if (!r.str(root, "", "name", b.name, true) || !r.str(root, "", "spec", b.spec, false) ||
      !r.integer(root, "", "workspace_bytes", b.workspaceBytes, false))
    return done(false);
  if (!isIdentifier(b.name))
    return done(r.fail("name", "\"" + b.name + "\" is not a C identifier"));
  if (b.workspaceBytes < 0)
    return done(r.fail("workspace_bytes", "must be >= 0"));

  std::vector<std::string> names = {"B", "Sq", "Skv"};
  if (const JsonValue *c = root.get("constants")) {
    if (c->kind != JsonValue::Object)
      return done(r.fail("constants", "expected an object of name -> integer"));
    for (const auto &f : c->fields) {
      std::string path = "constants." + f.first;
      if (!isIdentifier(f.first))
        return done(r.fail(path, "not an identifier"));
      for (const std::string &n : names)
        if (n == f.first)
          return done(r.fail(path, "redefines '" + n + "'"));
      if (f.first == kMultiprocessors)
        return done(r.fail(path, "redefines '" + f.first + "' (the device's, in grids)"));
      if (f.second.kind != JsonValue::Number || !f.second.isInt)
        return done(r.fail(path, "expected an integer"));
      b.constants.emplace_back(f.first, f.second.integer);
      names.push_back(f.first);
    }
  }

  const JsonValue *args = r.field(root, "", "args", true);
  if (!args)
    return done(false);
  if (args->kind != JsonValue::Array)
    return done(r.fail("args", "expected an array"));
  for (size_t i = 0; i < args->items.size(); ++i) {
    const JsonValue &a = args->items[i];
    std::string path = "args[" + std::to_string(i) + "]";
    if (a.kind != JsonValue::Object)
      return done(r.fail(path, "expected an object"));
    ArgInfo info;
    if (!r.str(a, path, "name", info.name, true) || !r.str(a, path, "dtype", info.dtype, true) ||
        !r.boolean(a, path, "output", info.output))
      return done(false);
    if (!isIdentifier(info.name))
      return done(r.fail(path + ".name", "\"" + info.name + "\" is not a C identifier"));
    if (!knownDtype(info.dtype))
      return done(r.fail(path + ".dtype", "unknown dtype \"" + info.dtype + "\""));
    const JsonValue *shape = a.get("shape");
    if (shape && shape->kind != JsonValue::Array)
      return done(r.fail(path + ".shape", "expected an array"));
    if (shape)
      for (size_t d = 0; d < shape->items.size(); ++d) {
        info.shape.emplace_back();
        if (!r.formula(shape->items[d], path + ".shape[" + std::to_string(d) + "]", names,
                       info.shape.back()))
          return done(false);
      }
    info.scalar = info.shape.empty() && info.dtype == "i64";
    if (info.scalar) {
      bool known = false;
      for (const std::string &n : names)
        known |= n == info.name;
      if (!known)
        return done(r.fail(path, "scalar argument '" + info.name +
                                     "' is neither B, Sq, Skv nor a constant"));
      if (info.output)
        return done(r.fail(path, "scalar arguments cannot be outputs"));
    } else {
      ++b.numTensors;
    }
    for (const ArgInfo &prev : b.args)
      if (prev.name == info.name)
        return done(r.fail(path, "duplicate argument '" + info.name + "'"));
    b.args.push_back(std::move(info));
  }

  const JsonValue *kernels = r.field(root, "", "kernels", true);
  if (!kernels)
    return done(false);
  if (kernels->kind != JsonValue::Array)
    return done(r.fail("kernels", "expected an array"));
  for (size_t i = 0; i < kernels->items.size(); ++i) {
    const JsonValue &kv = kernels->items[i];
    std::string path = "kernels[" + std::to_string(i) + "]";
    if (kv.kind != JsonValue::Object)
      return done(r.fail(path, "expected an object"));
    auto k = std::make_unique<KernelInfo>();
    if (!r.str(kv, path, "target", k->target, true) ||
        !r.str(kv, path, "format", k->format, true) || !r.str(kv, path, "file", k->file, true) ||
        !r.str(kv, path, "entry", k->entry, true) || !r.integer(kv, path, "size", k->size, false))
      return done(false);
    if (k->file.empty() || k->file.find('/') != std::string::npos || k->file == "." ||
        k->file == "..")
      return done(r.fail(path + ".file", "must be a plain file name next to the manifest"));
    if (k->entry.empty())
      return done(r.fail(path + ".entry", "must not be empty"));
    bool formatOk = (k->isCpu() && k->format == "so") ||
                    (k->isCuda() && (k->format == "cubin" || k->format == "ptx")) ||
                    (k->isHip() && k->format == "hsaco");
    if (!k->isCpu() && !k->isCuda() && !k->isHip())
      return done(r.fail(path + ".target", "unknown target \"" + k->target +
                                               "\" (expected cpu, sm_*, gfx*)"));
    if (!formatOk)
      return done(r.fail(path + ".format", "format \"" + k->format +
                                               "\" does not fit target \"" + k->target + "\""));
    for (const auto &prev : b.kernels)
      if (prev->target == k->target && prev->format == k->format)
        return done(r.fail(path, "second " + k->target + " " + k->format + " kernel"));
    for (auto [key, f] : {std::pair<const char *, Formula *>{"workspace_bytes", &k->workspaceBytes},
                          {"workspace_zero_bytes", &k->workspaceZeroBytes}})
      if (const JsonValue *v = kv.get(key); v && !r.formula(*v, path + "." + key, names, *f))
        return done(false);
    if (!r.boolean(kv, path, "workspace_zero_on_exit", k->workspaceZeroOnExit))
      return done(false);
    if (k->workspaceZeroOnExit && k->workspaceBytes.empty())
      return done(r.fail(path + ".workspace_zero_on_exit", "without workspace_bytes"));
    {
      // Checked again per launch; sizes of 1 catch a formula that is wrong
      // for every launch (a negative or unaligned constant) at load time.
      Formula::Env ones = {{"B", 1}, {"Sq", 1}, {"Skv", 1}};
      ones.insert(ones.end(), b.constants.begin(), b.constants.end());
      int64_t bytes, zeroed;
      if (std::string err = workspaceSizes(*k, ones, bytes, zeroed); !err.empty())
        return done(r.fail(path + ".workspace_bytes", err));
    }
    if (k->isCpu()) {
      const JsonValue *wi = r.field(kv, path, "work_items", true);
      if (!wi || !r.formula(*wi, path + ".work_items", names, k->workItems))
        return done(false);
    } else {
      const JsonValue *grid = r.field(kv, path, "grid", true);
      if (!grid)
        return done(false);
      if (grid->kind != JsonValue::Array || grid->items.size() != 3)
        return done(r.fail(path + ".grid", "expected an array of 3 formulas"));
      // A persistent kernel's grid may name the device's multiprocessors.
      std::vector<std::string> gridNames = names;
      gridNames.push_back(kMultiprocessors);
      for (int d = 0; d < 3; ++d)
        if (!r.formula(grid->items[d], path + ".grid[" + std::to_string(d) + "]", gridNames,
                       k->grid[d]))
          return done(false);
      const JsonValue *block = r.field(kv, path, "block", true);
      if (!block)
        return done(false);
      if (block->kind != JsonValue::Array || block->items.size() != 3)
        return done(r.fail(path + ".block", "expected an array of 3 integers"));
      for (int d = 0; d < 3; ++d) {
        const JsonValue &v = block->items[d];
        if (v.kind != JsonValue::Number || !v.isInt || v.integer < 1 || v.integer > 1024)
          return done(r.fail(path + ".block", "expected integers in [1, 1024]"));
        k->block[d] = v.integer;
      }
      if (!r.integer(kv, path, "dynamic_smem_bytes", k->dynamicSmemBytes, false) ||
          !r.integer(kv, path, "registers", k->registers, false) ||
          !r.integer(kv, path, "spill_bytes", k->spillBytes, false) ||
          !r.integer(kv, path, "scratch_bytes", k->scratchBytes, false) ||
          !r.str(kv, path, "param_abi", k->paramAbi, true))
        return done(false);
      if (k->dynamicSmemBytes < 0 || k->dynamicSmemBytes > (int64_t(1) << 31))
        return done(r.fail(path + ".dynamic_smem_bytes", "out of range"));
      if (k->paramAbi != "flat-memref" &&
          !(k->paramAbi == "flat-memref+tma" && k->isCuda()))
        return done(r.fail(path + ".param_abi",
                           "unsupported parameter ABI \"" + k->paramAbi + "\" for " + k->target +
                               " (this runtime knows flat-memref, and flat-memref+tma on CUDA)"));
      if (!parseTensorMaps(r, kv, path, b, *k))
        return done(false);
    }
    b.kernels.push_back(std::move(k));
  }
  return true;
}

std::string targetList(const attn_bundle &b) {
  std::string s;
  for (const auto &k : b.kernels) {
    if (s.find(k->target) != std::string::npos)
      continue;
    s += (s.empty() ? "" : ", ") + k->target;
  }
  return s.empty() ? "none" : s;
}

/// The runnable kernel for `target`, plus the GPU device it runs on.
attn_status selectKernel(attn_bundle &b, const char *targetArg, KernelInfo *&out,
                         GpuDevice &dev) {
  std::string target = targetArg ? targetArg : "auto";
  out = nullptr;
  auto available = [&](const KernelInfo &k) { return !k.fromMemory || k.hasBlob; };
  // Best-ranked available kernel of one vendor for a device; manifest order breaks ties.
  auto best = [&](bool (KernelInfo::*vendor)() const, const std::string *only,
                  const std::string &arch) {
    KernelInfo *pick = nullptr;
    int pickRank = 0;
    for (auto &k : b.kernels) {
      if (!((*k).*vendor)() || (only && k->target != *only) || !available(*k))
        continue;
      int rank = gpuCompatibility(*k, arch);
      if (rank > pickRank)
        pick = k.get(), pickRank = rank;
    }
    return pick;
  };

  if (target == "auto") {
    std::string notes;
    bool hasCuda = false, hasHip = false;
    for (auto &k : b.kernels)
      if (available(*k))
        hasCuda |= k->isCuda(), hasHip |= k->isHip();
    if (hasCuda) {
      if (cudaDevice(dev) == ATTN_OK) {
        if ((out = best(&KernelInfo::isCuda, nullptr, dev.arch)))
          return ATTN_OK;
        notes += "; no CUDA binary runs on " + dev.arch;
      } else {
        notes += "; " + lastError;
      }
    }
    if (hasHip) {
      if (hipDevice(dev) == ATTN_OK) {
        if ((out = best(&KernelInfo::isHip, nullptr, dev.arch)))
          return ATTN_OK;
        notes += "; no HIP binary runs on " + dev.arch;
      } else {
        notes += "; " + lastError;
      }
    }
    for (auto &k : b.kernels)
      if (k->isCpu() && available(*k)) {
        out = k.get();
        return ATTN_OK;
      }
    return fail(ATTN_ERR_NO_BINARY, "bundle '" + b.name + "' has no binary for this machine" +
                                        notes + " (bundle targets: " + targetList(b) + ")");
  }

  std::vector<KernelInfo *> matches;
  for (auto &k : b.kernels)
    if (k->target == target)
      matches.push_back(k.get());
  if (matches.empty())
    return fail(ATTN_ERR_NO_BINARY, "bundle '" + b.name + "' has no binary for target '" +
                                        target + "' (bundle targets: " + targetList(b) + ")");
  // A GPU target first needs its driver and device, then the bytes.
  bool cuda = matches[0]->isCuda();
  if (!matches[0]->isCpu()) {
    attn_status s = cuda ? cudaDevice(dev) : hipDevice(dev);
    if (s != ATTN_OK)
      return s;
  }
  bool anyAvailable = false;
  for (KernelInfo *k : matches)
    anyAvailable |= available(*k);
  if (!anyAvailable)
    return fail(ATTN_ERR_NO_BINARY, "bundle '" + b.name + "' was loaded without the bytes of " +
                                        matches[0]->file);
  if (matches[0]->isCpu()) {
    out = matches[0];
    return ATTN_OK;
  }
  out = best(cuda ? &KernelInfo::isCuda : &KernelInfo::isHip, &target, dev.arch);
  if (out)
    return ATTN_OK;
  std::string formats;
  for (KernelInfo *k : matches)
    formats += (formats.empty() ? "" : "/") + k->format;
  return fail(ATTN_ERR_NO_BINARY, "the " + target + " binary (" + formats +
                                      ") of bundle '" + b.name + "' cannot run on this " +
                                      dev.arch + " device");
}

/// A launch's kernel, its device and the launch sizes (the formulas'
/// environment).
struct Selected {
  KernelInfo *k = nullptr;
  GpuDevice dev;
  Formula::Env env;
};

/// The kernel for `target` and the launch sizes of `args`: what
/// attn_bundle_launch and attn_bundle_workspace_size share, with their
/// checks of the sizes.
attn_status kernelFor(attn_bundle *b, const char *target, const attn_launch_args *args,
                      const char *api, Selected &sel) {
  if (!b)
    return fail(ATTN_ERR_INVALID, std::string(api) + ": null bundle");
  if (!args)
    return fail(ATTN_ERR_INVALID, std::string(api) + ": null arguments");
  if (args->B < 0 || args->Sq < 0 || args->Skv < 0)
    return fail(ATTN_ERR_INVALID, "negative size: B=" + std::to_string(args->B) +
                                      " Sq=" + std::to_string(args->Sq) +
                                      " Skv=" + std::to_string(args->Skv));
  if (attn_status s = selectKernel(*b, target, sel.k, sel.dev); s != ATTN_OK)
    return s;
  sel.env = {{"B", args->B}, {"Sq", args->Sq}, {"Skv", args->Skv}};
  sel.env.insert(sel.env.end(), b->constants.begin(), b->constants.end());
  return ATTN_OK;
}

attn_status workspaceSize(attn_bundle *b, const char *target, const attn_launch_args *args,
                          size_t *out) {
  Selected sel;
  if (attn_status s = kernelFor(b, target, args, "attn_bundle_workspace_size", sel);
      s != ATTN_OK)
    return s;
  int64_t bytes, zeroed;
  if (std::string err = workspaceSizes(*sel.k, sel.env, bytes, zeroed); !err.empty())
    return fail(ATTN_ERR_INVALID, "workspace: " + err);
  if (out)
    *out = static_cast<size_t>(bytes);
  return ATTN_OK;
}

attn_status launch(attn_bundle *b, const char *target, const attn_launch_args *args,
                   void *stream, void *callerWorkspace = nullptr,
                   size_t callerWorkspaceBytes = 0) {
  // (Null bundle and arguments: kernelFor's errors.)
  if (b && args && args->num_tensors != b->numTensors)
    return fail(ATTN_ERR_INVALID, "bundle '" + b->name + "' takes " +
                                      std::to_string(b->numTensors) + " tensors, got " +
                                      std::to_string(args->num_tensors));
  if (args && args->num_tensors && !args->tensors)
    return fail(ATTN_ERR_INVALID, "attn_bundle_launch: null tensor array");
  Selected sel;
  if (attn_status s = kernelFor(b, target, args, "attn_bundle_launch", sel); s != ATTN_OK)
    return s;
  KernelInfo *k = sel.k;
  const GpuDevice &dev = sel.dev;
  Formula::Env &env = sel.env;

  // Shapes of the tensors; CPU descriptors or flat GPU parameters.
  std::vector<std::vector<int64_t>> descs;
  GpuLaunch gl;
  gl.tensorMaps.resize(k->tensorMaps.size());
  size_t t = 0;
  for (const ArgInfo &a : b->args) {
    if (a.scalar)
      continue;
    std::vector<int64_t> dims;
    int64_t numel = 1;
    for (const Formula &f : a.shape) {
      int64_t d;
      std::string err = f.eval(env, d);
      if (!err.empty())
        return fail(ATTN_ERR_FORMAT, "shape of '" + a.name + "': " + err);
      if (d < 0)
        return fail(ATTN_ERR_INVALID, "shape of '" + a.name + "': dimension '" + f.text() +
                                          "' is " + std::to_string(d));
      if (__builtin_mul_overflow(numel, d, &numel))
        return fail(ATTN_ERR_INVALID, "shape of '" + a.name + "' overflows");
      dims.push_back(d);
    }
    void *p = args->tensors[t++];
    if (!p && numel > 0)
      return fail(ATTN_ERR_INVALID, "tensor '" + a.name + "' is null");
    int64_t ptr = static_cast<int64_t>(reinterpret_cast<intptr_t>(p));
    // GPU kernels move rows with 16-byte copies (cp.async on NVIDIA);
    // device allocators return such pointers, views at odd offsets do not.
    if (!k->isCpu() && ptr % 16 != 0)
      return fail(ATTN_ERR_INVALID, "tensor '" + a.name +
                                        "' is not 16-byte aligned, which the GPU kernels need");
    if (k->isCpu()) {
      // MLIR ranked memref descriptor: allocated, aligned, offset, sizes[R], strides[R].
      size_t r = dims.size();
      std::vector<int64_t> d(3 + 2 * r);
      d[0] = d[1] = ptr;
      d[2] = 0;
      int64_t stride = 1;
      for (size_t i = r; i-- > 0;) {
        d[3 + i] = dims[i];
        d[3 + r + i] = stride;
        stride *= dims[i];
      }
      descs.push_back(std::move(d));
    } else {
      // flat-memref: 1-D descriptor (allocated, aligned, offset 0, numel, stride 1).
      const uint64_t words[5] = {uint64_t(ptr), uint64_t(ptr), 0, uint64_t(numel), 1};
      gl.params.insert(gl.params.end(), words, words + 5);
      // flat-memref+tma: this tensor's maps follow the scalars.
      for (size_t m = 0; m < k->tensorMaps.size(); ++m) {
        if (k->tensorMaps[m].tensor != t - 1)
          continue;
        TensorMapRequest &req = gl.tensorMaps[m];
        req.address = p;
        req.dtype = a.dtype;
        req.dims.assign(dims.rbegin(), dims.rend());
        req.box = k->tensorMaps[m].box;
        req.swizzle = k->tensorMaps[m].swizzle;
      }
    }
  }
  describeEmptyTensorMaps(gl.tensorMaps);
  int64_t workspaceBytes, workspaceZeroBytes;
  if (std::string err = workspaceSizes(*k, env, workspaceBytes, workspaceZeroBytes); !err.empty())
    return fail(ATTN_ERR_INVALID, "workspace: " + err);
  if (!workspaceBytes)
    callerWorkspace = nullptr;
  if (callerWorkspace) {
    if (callerWorkspaceBytes < static_cast<size_t>(workspaceBytes))
      return fail(ATTN_ERR_INVALID, "the workspace has " + std::to_string(callerWorkspaceBytes) +
                                        " bytes; " + k->entry + " needs " +
                                        std::to_string(workspaceBytes) + " at these sizes");
    if (!k->isCpu() && reinterpret_cast<uintptr_t>(callerWorkspace) % 16 != 0)
      return fail(ATTN_ERR_INVALID, "the workspace is not 16-byte aligned");
  }

  if (k->isCpu()) {
    int64_t wi;
    std::string err = k->workItems.eval(env, wi);
    if (!err.empty())
      return fail(ATTN_ERR_FORMAT, "work items: " + err);
    if (wi < 0)
      return fail(ATTN_ERR_INVALID, "work items '" + k->workItems.text() + "' is negative");
    if (wi == 0)
      return ATTN_OK;
    // Zeroed per launch: the kernel's arrival counters start at 0, and
    // concurrent launches never share one. A caller's workspace keeps its
    // prefix zero from launch to launch (cleared here unless the kernel
    // clears it on exit).
    // (Sizes come from the launch: an allocation that fails is an error of
    // this launch, not an exception through the C API.)
    std::vector<float> workspace;
    void *base = callerWorkspace;
    if (base) {
      if (!k->workspaceZeroOnExit)
        std::memset(base, 0, static_cast<size_t>(workspaceZeroBytes));
    } else {
      try {
        workspace.assign(static_cast<size_t>(workspaceBytes / 4), 0.0f);
      } catch (const std::exception &) {
        return fail(ATTN_ERR_LAUNCH, "cannot allocate the " + std::to_string(workspaceBytes) +
                                         "-byte workspace of " + k->entry);
      }
      base = workspace.data();
    }
    if (workspaceBytes) {
      int64_t ptr = static_cast<int64_t>(reinterpret_cast<intptr_t>(base));
      descs.push_back({ptr, ptr, 0, workspaceBytes / 4, 1});
    }
    return cpuLaunch(*k, descs, wi);
  }

  gl.params.push_back(uint64_t(args->B));
  gl.params.push_back(uint64_t(args->Sq));
  gl.params.push_back(uint64_t(args->Skv));
  // Unknown (HIP): a grid naming it then fails as unbound, rather than
  // reading 0 and launching nothing.
  if (dev.multiprocessors > 0)
    env.emplace_back(kMultiprocessors, dev.multiprocessors);
  for (int d = 0; d < 3; ++d) {
    int64_t g;
    std::string err = k->grid[d].eval(env, g);
    if (!err.empty())
      return fail(ATTN_ERR_FORMAT, "grid: " + err);
    if (g < 0)
      return fail(ATTN_ERR_INVALID, "grid '" + k->grid[d].text() + "' is negative");
    if (g == 0)
      return ATTN_OK; // nothing to compute (B, Sq or Skv is 0)
    int64_t limit = d == 0 ? INT32_MAX : 65535;
    if (g > limit)
      return fail(ATTN_ERR_INVALID, "grid dimension " + std::to_string(d) + " = " +
                                        std::to_string(g) + " exceeds " + std::to_string(limit));
    gl.grid[d] = static_cast<unsigned>(g);
    gl.block[d] = static_cast<unsigned>(k->block[d]);
  }
  gl.smem = static_cast<unsigned>(k->dynamicSmemBytes);
  gl.workspaceBytes = workspaceBytes;
  gl.workspaceZeroBytes = workspaceZeroBytes;
  gl.callerWorkspace = reinterpret_cast<uintptr_t>(callerWorkspace);
  gl.workspaceZeroOnExit = k->workspaceZeroOnExit;
  return k->isCuda() ? cudaLaunch(*k, dev, gl, stream) : hipLaunch(*k, dev, gl, stream);
}

attn_status loadFromJson(const std::string &json, const std::string &dir, const attn_blob *blobs,
                         size_t n, bool fromMemory, attn_bundle **out) {
  auto b = std::make_unique<attn_bundle>();
  b->dir = dir;
  std::string error;
  if (!parseManifest(json, *b, error))
    return fail(ATTN_ERR_FORMAT, error);
  for (auto &k : b->kernels) {
    k->fromMemory = fromMemory;
    if (!fromMemory) {
      k->path = dir + "/" + k->file;
      continue;
    }
    for (size_t i = 0; i < n; ++i) {
      if (!blobs[i].name || std::strcmp(blobs[i].name, k->file.c_str()) != 0)
        continue;
      if (!blobs[i].data && blobs[i].size)
        return fail(ATTN_ERR_INVALID, "blob '" + k->file + "' has no data");
      const uint8_t *p = static_cast<const uint8_t *>(blobs[i].data);
      k->bytes.assign(p, p + blobs[i].size);
      k->hasBlob = k->bytesRead = true;
      if (k->size >= 0 && static_cast<size_t>(k->size) != blobs[i].size)
        return fail(ATTN_ERR_FORMAT, "blob '" + k->file + "' has " +
                                         std::to_string(blobs[i].size) +
                                         " bytes; the manifest says " + std::to_string(k->size));
      break;
    }
  }
  *out = b.release();
  return ATTN_OK;
}

template <typename F> attn_status guarded(F &&f) {
  try {
    return f();
  } catch (const std::bad_alloc &) {
    return fail(ATTN_ERR_INVALID, "out of memory");
  } catch (const std::exception &e) {
    return fail(ATTN_ERR_INVALID, std::string("internal error: ") + e.what());
  } catch (...) {
    return fail(ATTN_ERR_INVALID, "internal error");
  }
}

std::mutex &onceMutex() {
  static std::mutex m;
  return m;
}

} // namespace

namespace attn_rt {

attn_status fail(attn_status s, const std::string &msg) {
  try {
    lastError = msg;
  } catch (...) {
  }
  return s;
}

attn_status kernelBytes(KernelInfo &k, const std::vector<uint8_t> *&out) {
  if (!k.bytesRead) {
    std::ifstream in(k.path, std::ios::binary);
    if (!in)
      return fail(ATTN_ERR_IO, "cannot read " + k.path);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string data = ss.str();
    k.bytes.assign(data.begin(), data.end());
    k.bytesRead = true;
    if (k.size >= 0 && static_cast<size_t>(k.size) != k.bytes.size()) {
      k.bytesRead = false;
      size_t got = k.bytes.size();
      k.bytes.clear();
      return fail(ATTN_ERR_FORMAT, k.path + " has " + std::to_string(got) +
                                       " bytes; the manifest says " + std::to_string(k.size) +
                                       " (stale or truncated file?)");
    }
  }
  out = &k.bytes;
  return ATTN_OK;
}

bool syncRequested() {
  const char *s = std::getenv("ATTN_RUNTIME_SYNC");
  return s && *s && std::strcmp(s, "0") != 0;
}

std::string driverPath(const char *envVar, const char *dflt) {
  const char *s = std::getenv(envVar);
  return s && *s ? std::string(s) : std::string(dflt);
}

void *driverSymbol(void *lib, const char *name, std::string &missing) {
  void *fn = dlsym(lib, name);
  if (!fn)
    missing += std::string(missing.empty() ? "" : ", ") + name;
  return fn;
}

std::vector<void *> paramPointers(GpuLaunch &l) {
  std::vector<void *> params(l.params.size());
  for (size_t i = 0; i < params.size(); ++i)
    params[i] = &l.params[i];
  return params;
}

std::string launchDescription(const KernelInfo &k, const GpuLaunch &l) {
  auto triple = [](const unsigned v[3]) {
    return "(" + std::to_string(v[0]) + "," + std::to_string(v[1]) + "," + std::to_string(v[2]) +
           ")";
  };
  return k.entry + " grid=" + triple(l.grid) + " block=" + triple(l.block) +
         " smem=" + std::to_string(l.smem);
}

int gpuCompatibility(const KernelInfo &k, const std::string &arch) {
  if (k.isHip())
    return k.target == arch ? 3 : 0;
  if (!k.isCuda() || arch.compare(0, 3, "sm_") != 0)
    return 0;
  // sm_<major><minor>[a|f]; the device arch never has a suffix.
  auto parse = [](const std::string &s, int &cc, std::string &suffix) {
    size_t i = 3;
    cc = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])))
      cc = cc * 10 + (s[i++] - '0');
    suffix = s.substr(i);
    return cc >= 10;
  };
  int kcc, dcc;
  std::string ks, ds;
  if (!parse(k.target, kcc, ks) || !parse(arch, dcc, ds))
    return 0;
  int kMajor = kcc / 10, dMajor = dcc / 10;
  if (k.format == "cubin") {
    if (kcc == dcc)
      return 3; // includes sm_90a on an sm_90 device
    // A cubin runs on later minor versions of its major, unless it uses
    // architecture-specific features ('a').
    if (ks.empty() && kMajor == dMajor && kcc < dcc)
      return 2;
    return 0;
  }
  // PTX JIT-compiles for any later device; 'a'/'f' PTX only for its own major.
  if (kcc <= dcc && (ks.empty() || kMajor == dMajor))
    return 1;
  return 0;
}

} // namespace attn_rt

// ---- C API -----------------------------------------------------------------

extern "C" {

ATTN_API attn_status attn_bundle_load(const char *manifest_path, attn_bundle **out) {
  if (out)
    *out = nullptr;
  if (!manifest_path || !out)
    return fail(ATTN_ERR_INVALID, "attn_bundle_load: null argument");
  return guarded([&] {
    std::ifstream in(manifest_path, std::ios::binary);
    if (!in)
      return fail(ATTN_ERR_IO, std::string("cannot read manifest ") + manifest_path);
    std::ostringstream ss;
    ss << in.rdbuf();
    std::string path = manifest_path;
    size_t slash = path.rfind('/');
    std::string dir = slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
    return loadFromJson(ss.str(), dir, nullptr, 0, false, out);
  });
}

ATTN_API attn_status attn_bundle_load_memory(const char *manifest_json, const attn_blob *blobs,
                                             size_t n, attn_bundle **out) {
  if (out)
    *out = nullptr;
  if (!manifest_json || !out || (n && !blobs))
    return fail(ATTN_ERR_INVALID, "attn_bundle_load_memory: null argument");
  return guarded([&] { return loadFromJson(manifest_json, "", blobs, n, true, out); });
}

ATTN_API attn_status attn_bundle_load_memory_once(attn_bundle **slot, const char *manifest_json,
                                                  const attn_blob *blobs, size_t n) {
  if (!slot)
    return fail(ATTN_ERR_INVALID, "attn_bundle_load_memory_once: null slot");
  if (__atomic_load_n(slot, __ATOMIC_ACQUIRE))
    return ATTN_OK;
  std::lock_guard<std::mutex> lock(onceMutex());
  if (*slot)
    return ATTN_OK;
  attn_bundle *b = nullptr;
  attn_status s = attn_bundle_load_memory(manifest_json, blobs, n, &b);
  if (s == ATTN_OK)
    __atomic_store_n(slot, b, __ATOMIC_RELEASE);
  return s;
}

ATTN_API attn_status attn_bundle_launch(attn_bundle *b, const char *target,
                                        const attn_launch_args *args, void *stream) {
  return guarded([&] { return launch(b, target, args, stream); });
}

ATTN_API attn_status attn_bundle_workspace_size(attn_bundle *b, const char *target,
                                                const attn_launch_args *args, size_t *bytes) {
  return guarded([&] { return workspaceSize(b, target, args, bytes); });
}

ATTN_API attn_status attn_bundle_launch_with_workspace(attn_bundle *b, const char *target,
                                                       const attn_launch_args *args,
                                                       void *stream, void *workspace,
                                                       size_t workspace_bytes) {
  return guarded(
      [&] { return launch(b, target, args, stream, workspace, workspace_bytes); });
}

ATTN_API attn_status attn_bundle_select(attn_bundle *b, const char *target,
                                        const char **chosen_target, const char **chosen_file) {
  if (!b)
    return fail(ATTN_ERR_INVALID, "attn_bundle_select: null bundle");
  return guarded([&] {
    KernelInfo *k = nullptr;
    GpuDevice dev;
    attn_status s = selectKernel(*b, target, k, dev);
    if (s == ATTN_OK) {
      if (chosen_target)
        *chosen_target = k->target.c_str();
      if (chosen_file)
        *chosen_file = k->file.c_str();
    }
    return s;
  });
}

ATTN_API const char *attn_bundle_name(const attn_bundle *b) { return b ? b->name.c_str() : ""; }
ATTN_API const char *attn_bundle_spec(const attn_bundle *b) { return b ? b->spec.c_str() : ""; }
ATTN_API size_t attn_bundle_num_tensors(const attn_bundle *b) { return b ? b->numTensors : 0; }
ATTN_API int64_t attn_bundle_workspace_bytes(const attn_bundle *b) {
  return b ? b->workspaceBytes : 0;
}

ATTN_API const char *attn_last_error(void) { return lastError.c_str(); }

ATTN_API const char *attn_status_name(attn_status s) {
  switch (s) {
  case ATTN_OK:
    return "ATTN_OK";
  case ATTN_ERR_INVALID:
    return "ATTN_ERR_INVALID";
  case ATTN_ERR_IO:
    return "ATTN_ERR_IO";
  case ATTN_ERR_FORMAT:
    return "ATTN_ERR_FORMAT";
  case ATTN_ERR_NO_DRIVER:
    return "ATTN_ERR_NO_DRIVER";
  case ATTN_ERR_NO_DEVICE:
    return "ATTN_ERR_NO_DEVICE";
  case ATTN_ERR_NO_BINARY:
    return "ATTN_ERR_NO_BINARY";
  case ATTN_ERR_LAUNCH:
    return "ATTN_ERR_LAUNCH";
  }
  return "ATTN_ERR_UNKNOWN";
}

ATTN_API void attn_bundle_free(attn_bundle *b) {
  if (!b)
    return;
  for (auto &k : b->kernels) {
    if (k->isCpu())
      cpuUnload(*k);
    else if (k->isCuda())
      cudaUnload(*k);
    else
      hipUnload(*k);
  }
  delete b;
}

} // extern "C"
