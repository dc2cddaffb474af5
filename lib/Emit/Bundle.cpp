//===- Bundle.cpp - Kernel bundle writer ----------------------------------===//
//
// Writes a bundle's JSON manifest, its C header (binaries embedded, typed
// argument struct, launch helper over the runtime C API) and its binary
// files. The manifest format is read by runtime/lib/Runtime.cpp; both are
// described in docs/embedding.md.
//
//===----------------------------------------------------------------------===//

#include "attn/Emit/Bundle.h"

#include "Formula.h" // runtime/lib: the grammar the runtime evaluates
#include "nvemu.h"   // tools/nvemu: how the emulating driver names images

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <regex>
#include <sstream>

namespace mlir::attn {

bool isCIdentifier(const std::string &s) {
  if (s.empty() || !(std::isalpha(static_cast<unsigned char>(s[0])) || s[0] == '_'))
    return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_'))
      return false;
  return true;
}

namespace {

bool isCpu(const std::string &t) { return t == "cpu"; }
bool isCuda(const std::string &t) { return t.compare(0, 3, "sm_") == 0 && t.size() > 3; }
bool isHip(const std::string &t) { return t.compare(0, 3, "gfx") == 0 && t.size() > 3; }
bool isGpu(const std::string &t) { return isCuda(t) || isHip(t); }

bool knownDtype(const std::string &d) {
  for (const char *n : {"f64", "f32", "f16", "bf16", "i64", "i32", "i16", "i8", "u8", "i1"})
    if (d == n)
      return true;
  return false;
}

bool isScalar(const BundleArg &a) { return a.shape.empty() && a.dtype == "i64"; }

std::string sanitize(const std::string &s) {
  std::string out;
  for (char c : s)
    out += std::isalnum(static_cast<unsigned char>(c)) ? c : '_';
  return out;
}

std::string upper(const std::string &s) {
  std::string out;
  for (char c : s)
    out += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return out;
}

std::string jsonString(const std::string &s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    switch (c) {
    case '"':
      out += "\\\"";
      break;
    case '\\':
      out += "\\\\";
      break;
    case '\n':
      out += "\\n";
      break;
    case '\r':
      out += "\\r";
      break;
    case '\t':
      out += "\\t";
      break;
    default:
      if (c < 0x20) {
        char buf[8];
        std::snprintf(buf, sizeof(buf), "\\u%04x", c);
        out += buf;
      } else {
        out += static_cast<char>(c);
      }
    }
  }
  return out + "\"";
}

/// A C string literal body: printable ASCII as is, the rest as octal; '?'
/// escaped so no trigraph can form.
std::string cEscape(const std::string &s) {
  std::string out;
  for (unsigned char c : s) {
    if (c == '"' || c == '\\' || c == '?') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c >= 0x20 && c < 0x7f) {
      out += static_cast<char>(c);
    } else {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\%03o", c);
      out += buf;
    }
  }
  return out;
}

/// Text safe inside a C block comment.
std::string commentSafe(const std::string &s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    if (c == '\n' || c == '\r')
      c = ' ';
    out += c;
    if (c == '*' && i + 1 < s.size() && s[i + 1] == '/')
      out += ' ';
  }
  return out;
}

std::string blobSymbol(const BundleDesc &d, const BundleKernel &k) {
  return d.name + "_" + sanitize(k.target) + "_" + sanitize(k.format);
}

std::string paramAbi(const BundleKernel &k) {
  return k.paramAbi.empty() && isGpu(k.target) ? "flat-memref" : k.paramAbi;
}

std::string checkParamAbi(const BundleDesc &d, const BundleKernel &k) {
  std::string abi = paramAbi(k);
  if (abi == "flat-memref")
    return k.tensorMaps.empty() ? "" : "tensor maps need the flat-memref+tma ABI";
  if (abi != "flat-memref+tma")
    return "unknown parameter ABI '" + k.paramAbi + "'";
  if (!isCuda(k.target))
    return "the flat-memref+tma ABI is for CUDA targets";
  if (k.tensorMaps.empty())
    return "the flat-memref+tma ABI needs tensor maps";
  for (const BundleTensorMap &m : k.tensorMaps) {
    std::string what = "tensor map of '" + m.arg + "'";
    const BundleArg *arg = nullptr;
    for (const BundleArg &a : d.args)
      if (a.name == m.arg && !isScalar(a))
        arg = &a;
    if (!arg)
      return what + ": no such tensor argument";
    if (arg->dtype != "f16" && arg->dtype != "bf16" && arg->dtype != "f32")
      return what + ": dtype " + arg->dtype + " (expected f16, bf16 or f32)";
    if (m.box.size() != arg->shape.size() || m.box.empty() || m.box.size() > 5)
      return what + ": the box needs one extent per dimension (1 to 5)";
    for (int64_t e : m.box)
      if (e < 1 || e > 256)
        return what + ": box extents must be in [1, 256]";
    int64_t eltBytes = arg->dtype == "f32" ? 4 : 2;
    if (m.swizzle != 0 && m.swizzle != 32 && m.swizzle != 64 && m.swizzle != 128)
      return what + ": swizzle must be 0, 32, 64 or 128";
    if (m.swizzle != 0 && m.box[0] * eltBytes > m.swizzle)
      return what + ": the inner box extent exceeds the swizzle span";
    if ((m.box[0] * eltBytes) % 16 != 0)
      return what + ": the inner box extent must be a multiple of 16 bytes";
  }
  return "";
}

/// A formula as JSON: a number when it is a plain integer (so constant
/// sizes read as before), else a string.
std::string jsonFormula(const std::string &f) {
  bool digits = !f.empty() && f.find_first_not_of("0123456789") == std::string::npos;
  return digits ? f : jsonString(f);
}

std::string join(const std::vector<std::string> &v, const char *sep) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i)
    s += (i ? sep : "") + v[i];
  return s;
}

} // namespace

void readPtxasReport(const std::string &log, BundleKernel &kernel) {
  std::smatch m;
  auto number = [&](const char *pattern, int64_t &field) {
    if (std::regex_search(log, m, std::regex(pattern)))
      field = std::stoll(m[1].str());
  };
  number("Used ([0-9]+) registers", kernel.registers);
  number("([0-9]+) bytes spill stores", kernel.spillBytes);
  number("([0-9]+) bytes stack frame", kernel.scratchBytes);
  number("([0-9]+) bytes smem", kernel.staticSmemBytes);
  // C7510-C7519: the wgmma pipeline's (serialized products, an injected
  // warpgroup.wait).
  std::istringstream lines(log);
  std::regex wgmma("ptxas info *: (\\(C751[0-9]\\).*?) in (the )?function");
  for (std::string line; std::getline(lines, line);)
    if (std::regex_search(line, m, wgmma))
      kernel.ptxasWgmmaNotes.push_back(m[1].str());
}

std::string BundleKernel::tileName() const {
  return std::to_string(tile[0]) + "x" + std::to_string(tile[1]) + "x" +
         std::to_string(tile[2]) + "x" + std::to_string(tile[3]);
}

std::string validateBundle(const BundleDesc &d) {
  if (!isCIdentifier(d.name))
    return "bundle name '" + d.name + "' is not a C identifier";
  if (d.workspaceBytes < 0)
    return "negative workspace size";
  std::vector<std::string> names = {"B", "Sq", "Skv"};
  for (const auto &c : d.constants) {
    if (!isCIdentifier(c.first))
      return "constant '" + c.first + "' is not an identifier";
    for (const std::string &n : names)
      if (n == c.first)
        return "constant '" + c.first + "' is defined twice or shadows B/Sq/Skv";
    if (c.first == attn_rt::kMultiprocessors)
      return "constant '" + c.first + "' shadows the device's SMs of grid formulas";
    names.push_back(c.first);
  }
  // A GPU kernel's grid may also name the device's multiprocessors.
  std::vector<std::string> gridNames = names;
  gridNames.push_back(attn_rt::kMultiprocessors);
  auto checkFormula = [&](const std::string &text, const std::string &what,
                          bool grid = false) {
    attn_rt::Formula f;
    std::string err = f.parse(text, grid ? gridNames : names);
    return err.empty() ? err : what + ": " + err;
  };
  size_t tensors = 0;
  for (size_t i = 0; i < d.args.size(); ++i) {
    const BundleArg &a = d.args[i];
    std::string what = "argument '" + a.name + "'";
    if (!isCIdentifier(a.name))
      return "argument name '" + a.name + "' is not a C identifier";
    if (!knownDtype(a.dtype))
      return what + ": unknown dtype '" + a.dtype + "'";
    for (size_t j = 0; j < i; ++j)
      if (d.args[j].name == a.name)
        return what + " appears twice";
    if (isScalar(a)) {
      bool known = false;
      for (const std::string &n : names)
        known |= n == a.name;
      if (!known)
        return what + ": a scalar must be B, Sq, Skv or a constant";
      if (a.output)
        return what + ": scalars cannot be outputs";
      continue;
    }
    ++tensors;
    if (a.name == "B" || a.name == "Sq" || a.name == "Skv")
      return what + ": B, Sq and Skv name the size fields of the header's args struct";
    for (size_t k = 0; k < a.shape.size(); ++k)
      if (std::string err = checkFormula(a.shape[k], what + " dim " + std::to_string(k));
          !err.empty())
        return err;
  }
  if (tensors > 22)
    return "more than 22 tensor arguments";
  for (size_t i = 0; i < d.kernels.size(); ++i) {
    const BundleKernel &k = d.kernels[i];
    std::string what = "kernel " + k.target + "/" + k.format;
    if (!isCpu(k.target) && !isGpu(k.target))
      return what + ": unknown target (expected cpu, sm_*, gfx*)";
    bool fits = (isCpu(k.target) && k.format == "so") ||
                (isCuda(k.target) && (k.format == "cubin" || k.format == "ptx")) ||
                (isHip(k.target) && k.format == "hsaco");
    if (!fits)
      return what + ": format does not fit the target";
    if (k.file.empty() || k.file.find('/') != std::string::npos || k.file == "." ||
        k.file == ".." || k.file == d.name + ".json" || k.file == d.name + ".h")
      return what + ": bad file name '" + k.file + "'";
    if (k.entry.empty())
      return what + ": no entry symbol";
    for (size_t j = 0; j < i; ++j) {
      if (d.kernels[j].file == k.file)
        return what + ": file '" + k.file + "' used twice";
      if (d.kernels[j].target == k.target && d.kernels[j].format == k.format)
        return what + " appears twice";
    }
    if (k.workspaceBytes.empty() && !k.workspaceZeroBytes.empty())
      return what + ": zeroed workspace bytes without a workspace";
    for (auto [text, name] : {std::pair{&k.workspaceBytes, "workspace bytes"},
                              {&k.workspaceZeroBytes, "zeroed workspace bytes"}})
      if (!text->empty())
        if (std::string err = checkFormula(*text, what + " " + name); !err.empty())
          return err;
    if (isCpu(k.target)) {
      if (std::string err = checkFormula(k.workItems, what + " work items"); !err.empty())
        return err;
      continue;
    }
    const std::string *grid[3] = {&k.gridX, &k.gridY, &k.gridZ};
    for (int g = 0; g < 3; ++g)
      if (std::string err = checkFormula(*grid[g], what + " grid " + "xyz"[g], /*grid=*/true);
          !err.empty())
        return err;
    int64_t blocks[3] = {k.blockX, k.blockY, k.blockZ};
    for (int64_t b : blocks)
      if (b < 1 || b > 1024)
        return what + ": block dimensions must be in [1, 1024]";
    if (k.blockX * k.blockY * k.blockZ > 1024)
      return what + ": more than 1024 threads per block";
    if (k.dynamicSmemBytes < 0)
      return what + ": negative dynamic shared memory";
    if (std::string err = checkParamAbi(d, k); !err.empty())
      return what + ": " + err;
  }
  return "";
}

std::string manifestJson(const BundleDesc &d) {
  std::ostringstream os;
  os << "{\n";
  os << "  \"attn_bundle\": 1,\n";
  os << "  \"name\": " << jsonString(d.name) << ",\n";
  os << "  \"spec\": " << jsonString(d.spec) << ",\n";
  os << "  \"workspace_bytes\": " << d.workspaceBytes << ",\n";
  os << "  \"constants\": {";
  for (size_t i = 0; i < d.constants.size(); ++i)
    os << (i ? ", " : "") << jsonString(d.constants[i].first) << ": " << d.constants[i].second;
  os << "},\n";
  os << "  \"args\": [";
  for (size_t i = 0; i < d.args.size(); ++i) {
    const BundleArg &a = d.args[i];
    os << (i ? ",\n" : "\n") << "    {\"name\": " << jsonString(a.name)
       << ", \"dtype\": " << jsonString(a.dtype) << ", \"shape\": [";
    for (size_t j = 0; j < a.shape.size(); ++j)
      os << (j ? ", " : "") << jsonString(a.shape[j]);
    os << "]";
    if (a.output)
      os << ", \"output\": true";
    os << "}";
  }
  os << (d.args.empty() ? "],\n" : "\n  ],\n");
  os << "  \"kernels\": [";
  for (size_t i = 0; i < d.kernels.size(); ++i) {
    const BundleKernel &k = d.kernels[i];
    os << (i ? ",\n" : "\n") << "    {\n";
    os << "      \"target\": " << jsonString(k.target) << ",\n";
    os << "      \"format\": " << jsonString(k.format) << ",\n";
    os << "      \"file\": " << jsonString(k.file) << ",\n";
    if (!k.binary.empty())
      os << "      \"size\": " << k.binary.size() << ",\n";
    os << "      \"entry\": " << jsonString(k.entry);
    if (isGpu(k.target)) {
      os << ",\n      \"param_abi\": " << jsonString(paramAbi(k)) << ",\n";
      os << "      \"grid\": [" << jsonString(k.gridX) << ", " << jsonString(k.gridY) << ", "
         << jsonString(k.gridZ) << "],\n";
      os << "      \"block\": [" << k.blockX << ", " << k.blockY << ", " << k.blockZ << "],\n";
      os << "      \"dynamic_smem_bytes\": " << k.dynamicSmemBytes << ",\n";
      os << "      \"static_smem_bytes\": " << k.staticSmemBytes << ",\n";
      os << "      \"registers\": " << k.registers << ",\n";
      os << "      \"spill_bytes\": " << k.spillBytes << ",\n";
      os << "      \"scratch_bytes\": " << k.scratchBytes;
      if (!k.kernel.empty()) {
        os << ",\n      \"kernel\": " << jsonString(k.kernel) << ",\n";
        os << "      \"tile\": [" << k.tile[0] << ", " << k.tile[1] << ", "
           << k.tile[2] << ", " << k.tile[3] << "]";
        if (k.producerRegisters)
          os << ",\n      \"producer_registers\": " << k.producerRegisters;
      }
      if (!k.ptxasWgmmaNotes.empty()) {
        os << ",\n      \"ptxas_wgmma_notes\": [";
        for (size_t n = 0; n < k.ptxasWgmmaNotes.size(); ++n)
          os << (n ? ", " : "") << jsonString(k.ptxasWgmmaNotes[n]);
        os << "]";
      }
      if (!k.tensorMaps.empty()) {
        os << ",\n      \"tensor_maps\": [";
        for (size_t m = 0; m < k.tensorMaps.size(); ++m) {
          const BundleTensorMap &t = k.tensorMaps[m];
          os << (m ? ", " : "") << "{\"arg\": " << jsonString(t.arg) << ", \"box\": [";
          for (size_t j = 0; j < t.box.size(); ++j)
            os << (j ? ", " : "") << t.box[j];
          os << "], \"swizzle\": " << t.swizzle << "}";
        }
        os << "]";
      }
    } else {
      os << ",\n      \"work_items\": " << jsonString(k.workItems);
    }
    if (!k.workspaceBytes.empty())
      os << ",\n      \"workspace_bytes\": " << jsonFormula(k.workspaceBytes);
    if (!k.workspaceBytes.empty() && !k.workspaceZeroBytes.empty())
      os << ",\n      \"workspace_zero_bytes\": " << jsonFormula(k.workspaceZeroBytes);
    if (!k.workspaceBytes.empty() && k.workspaceZeroOnExit)
      os << ",\n      \"workspace_zero_on_exit\": true";
    os << "\n    }";
  }
  os << (d.kernels.empty() ? "]\n" : "\n  ]\n");
  os << "}\n";
  return os.str();
}

std::string cHeader(const BundleDesc &d) {
  const std::string &n = d.name;
  const std::string N = upper(n);
  std::vector<const BundleArg *> tensors;
  for (const BundleArg &a : d.args)
    if (!isScalar(a))
      tensors.push_back(&a);

  std::ostringstream os;
  os << "/* Generated by attention-opt: kernel bundle \"" << commentSafe(n)
     << "\". Do not edit.\n";
  if (!d.spec.empty())
    os << " * spec: " << commentSafe(d.spec) << "\n";
  os << " *\n * Tensors of " << n << "_args, in launch order (host pointers for cpu,\n"
     << " * device pointers for GPU targets; dense, row-major):\n";
  for (const BundleArg &a : d.args) {
    if (isScalar(a))
      continue;
    os << " *   " << commentSafe(a.name) << (a.output ? " (out)" : "") << " " << a.dtype << " ["
       << commentSafe(join(a.shape, ", ")) << "]\n";
  }
  os << " * Kernels:\n";
  for (const BundleKernel &k : d.kernels) {
    os << " *   " << commentSafe(k.target) << " " << commentSafe(k.format) << " "
       << commentSafe(k.file) << " (" << k.binary.size() << " bytes), entry "
       << commentSafe(k.entry);
    if (isGpu(k.target)) {
      os << "\n *     grid (" << commentSafe(k.gridX + ", " + k.gridY + ", " + k.gridZ)
         << ") block (" << k.blockX << ", " << k.blockY << ", " << k.blockZ
         << ") dynamic smem " << k.dynamicSmemBytes << " B";
      if (k.registers >= 0)
        os << ", " << k.registers << " registers";
      if (k.spillBytes >= 0)
        os << ", " << k.spillBytes << " B spilled";
      if (k.scratchBytes >= 0)
        os << ", " << k.scratchBytes << " B scratch";
      for (const BundleTensorMap &t : k.tensorMaps)
        os << "\n *     TMA: " << commentSafe(t.arg) << " in boxes of " << t.box[0]
           << " x " << (t.box.size() > 1 ? t.box[1] : 1) << ", " << t.swizzle
           << "-byte swizzle (the runtime encodes the tensor map)";
    } else {
      os << "\n *     work items " << commentSafe(k.workItems);
    }
    os << "\n";
  }
  if (!d.constants.empty()) {
    os << " * Constants:";
    for (const auto &c : d.constants)
      os << " " << commentSafe(c.first) << "=" << c.second;
    os << "\n";
  }
  os << " *\n * Usage: fill a " << n << "_args and call " << n
     << "_launch(&args, \"auto\", stream);\n"
     << " * compile with -I<attention-opt>/runtime/include, link -lattn_runtime.\n */\n";

  os << "#ifndef ATTN_BUNDLE_" << N << "_H\n#define ATTN_BUNDLE_" << N << "_H\n\n";
  os << "#include <stddef.h>\n#include <stdint.h>\n\n#include \"attn_runtime.h\"\n\n";
  os << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  os << "#define " << N << "_NUM_TENSORS " << tensors.size() << "\n";
  os << "#define " << N << "_WORKSPACE_BYTES " << d.workspaceBytes << "\n\n";

  for (const BundleKernel &k : d.kernels) {
    std::string sym = blobSymbol(d, k);
    os << "/* " << commentSafe(k.file) << " */\n";
    os << "static const unsigned char " << sym << "[] = {";
    if (k.binary.empty())
      os << "0";
    for (size_t i = 0; i < k.binary.size(); ++i) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "0x%02x", k.binary[i]);
      os << (i % 16 == 0 ? "\n  " : " ") << buf << (i + 1 < k.binary.size() ? "," : "");
    }
    os << (k.binary.empty() ? "};\n" : "\n};\n");
    os << "#define " << upper(sym) << "_LEN " << k.binary.size() << "u\n\n";
  }

  os << "static const char " << n << "_manifest[] =";
  std::string json = manifestJson(d);
  std::istringstream lines(json);
  std::string line;
  while (std::getline(lines, line))
    os << "\n  \"" << cEscape(line) << "\\n\"";
  os << ";\n\n";

  os << "typedef struct {\n";
  for (const BundleArg *a : tensors)
    os << "  " << (a->output ? "void *" : "const void *") << a->name << ";\n";
  os << "  int64_t B, Sq, Skv;\n} " << n << "_args;\n\n";

  os << "/* The bundle, loaded from the embedded manifest and binaries on first use\n"
     << " * (once per process; never freed). */\n";
  os << "static inline attn_status " << n << "_load(attn_bundle **out) {\n";
  os << "  static attn_bundle *bundle = NULL;\n";
  os << "  static const attn_blob blobs[" << (d.kernels.empty() ? 1 : d.kernels.size())
     << "] = {";
  if (d.kernels.empty())
    os << "{NULL, NULL, 0}";
  for (size_t i = 0; i < d.kernels.size(); ++i) {
    std::string sym = blobSymbol(d, d.kernels[i]);
    os << (i ? "," : "") << "\n    {\"" << cEscape(d.kernels[i].file) << "\", " << sym << ", "
       << upper(sym) << "_LEN}";
  }
  os << (d.kernels.empty() ? "};\n" : "\n  };\n");
  os << "  attn_status st = attn_bundle_load_memory_once(&bundle, " << n << "_manifest, blobs, "
     << d.kernels.size() << ");\n";
  os << "  if (out)\n    *out = bundle;\n  return st;\n}\n\n";

  // The launch sizes and tensor addresses of an `_args`, then `call`.
  auto withArgs = [&](const std::string &call) {
    os << "  attn_bundle *bundle = NULL;\n";
    os << "  void *tensors[" << (tensors.empty() ? 1 : tensors.size()) << "];\n";
    os << "  attn_launch_args la;\n";
    os << "  attn_status st;\n";
    os << "  if (!a)\n    return ATTN_ERR_INVALID;\n";
    os << "  st = " << n << "_load(&bundle);\n";
    os << "  if (st != ATTN_OK)\n    return st;\n";
    for (size_t i = 0; i < tensors.size(); ++i)
      os << "  tensors[" << i << "] = (void *)(uintptr_t)a->" << tensors[i]->name << ";\n";
    if (tensors.empty())
      os << "  tensors[0] = NULL;\n";
    os << "  la.tensors = tensors;\n  la.num_tensors = " << tensors.size() << ";\n";
    os << "  la.B = a->B;\n  la.Sq = a->Sq;\n  la.Skv = a->Skv;\n";
    os << "  return " << call << ";\n}\n\n";
  };
  os << "/* Bytes of workspace the launch of `a` on `target` takes (0: none); see\n"
     << " * attn_bundle_workspace_size in attn_runtime.h. */\n";
  os << "static inline attn_status " << n << "_workspace_size(const " << n
     << "_args *a, const char *target, size_t *bytes) {\n";
  withArgs("attn_bundle_workspace_size(bundle, target, &la, bytes)");
  os << "/* " << n << "_launch on the caller's workspace (zeroed once when allocated;\n"
     << " * NULL: one per launch); see attn_bundle_launch_with_workspace. */\n";
  os << "static inline attn_status " << n << "_launch_with_workspace(const " << n
     << "_args *a, const char *target, void *stream, void *workspace,\n"
     << "    size_t workspace_bytes) {\n";
  withArgs("attn_bundle_launch_with_workspace(bundle, target, &la, stream, workspace, "
           "workspace_bytes)");
  os << "/* Launches the bundle's kernel for `target` (\"auto\" or NULL: the present GPU,\n"
     << " * else the CPU); see attn_bundle_launch in attn_runtime.h. */\n";
  os << "static inline attn_status " << n << "_launch(const " << n
     << "_args *a, const char *target, void *stream) {\n";
  os << "  return " << n << "_launch_with_workspace(a, target, stream, NULL, 0);\n}\n\n";

  os << "#ifdef __cplusplus\n} /* extern \"C\" */\n#endif\n\n#endif /* ATTN_BUNDLE_" << N
     << "_H */\n";
  return os.str();
}

std::string writeBundle(const BundleDesc &descIn, const std::string &dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec)
    return "cannot create " + dir + ": " + ec.message();
  // Kernels given without bytes were written to DIR by the caller.
  BundleDesc desc = descIn;
  for (BundleKernel &k : desc.kernels) {
    if (!k.binary.empty())
      continue;
    std::ifstream in(dir + "/" + k.file, std::ios::binary);
    if (!in)
      return "kernel " + k.target + "/" + k.format + " has no binary and " + dir + "/" + k.file +
             " cannot be read";
    k.binary.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    if (k.binary.empty())
      return dir + "/" + k.file + " is empty";
  }
  if (std::string err = validateBundle(desc); !err.empty())
    return err;
  auto write = [&](const std::string &file, const void *data, size_t size) -> std::string {
    std::string path = dir + "/" + file;
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out)
      return "cannot write " + path;
    out.write(static_cast<const char *>(data), static_cast<std::streamsize>(size));
    out.close();
    return out ? "" : "cannot write " + path;
  };
  for (size_t i = 0; i < desc.kernels.size(); ++i) {
    const BundleKernel &k = desc.kernels[i];
    if (!descIn.kernels[i].binary.empty())
      if (std::string err = write(k.file, k.binary.data(), k.binary.size()); !err.empty())
        return err;
    if (k.emulation.empty())
      continue;
    fs::create_directories(dir + "/nvemu", ec);
    uint64_t hash = nvemu_image_hash(k.binary.data(), k.binary.size());
    char file[40];
    std::snprintf(file, sizeof(file), "nvemu/%016llx.so", static_cast<unsigned long long>(hash));
    if (std::string err = write(file, k.emulation.data(), k.emulation.size()); !err.empty())
      return err;
  }
  std::string json = manifestJson(desc);
  if (std::string err = write(desc.name + ".json", json.data(), json.size()); !err.empty())
    return err;
  std::string header = cHeader(desc);
  return write(desc.name + ".h", header.data(), header.size());
}

} // namespace mlir::attn
