//===- Npy.h - NumPy .npy reader and writer ---------------------*- C++ -*-===//
//
// Minimal .npy (format versions 1.0, 2.0 and 3.0; little-endian, C order)
// reading and writing, converting to and from fp64 RefTensors. Malformed input
// gives an error string, never a crash: the golden vectors and kernel dumps
// come from outside the project.
//
//===----------------------------------------------------------------------===//

#ifndef ATTN_REFERENCE_NPY_H
#define ATTN_REFERENCE_NPY_H

#include "attn/Reference/Reference.h"

#include <string>

namespace mlir::attn {

/// Element types understood by the .npy reader and writer.
enum class NpyDType { F16, F32, F64, I8, U8, I32 };

/// The NumPy `descr` string of `t` (`<f4`, `|u1`, ...).
const char *npyDescr(NpyDType t);

/// Parses a whole .npy file held in `bytes`. Values are converted to double.
/// On failure returns false and sets `error`; `out` is left unchanged.
bool parseNpy(const std::string &bytes, RefTensor &out, std::string &error,
              NpyDType *dtype = nullptr);

/// Reads the .npy file at `path` (see parseNpy); errors name the path.
bool readNpy(const std::string &path, RefTensor &out, std::string &error,
             NpyDType *dtype = nullptr);

/// Serializes `t` as a version 1.0 .npy with element type `dtype`. Values are
/// rounded to the element type (integers round to nearest and saturate).
std::string serializeNpy(const RefTensor &t, NpyDType dtype);

/// Writes `t` to `path` (see serializeNpy). Returns false and sets `error`
/// when the file cannot be written.
bool writeNpy(const std::string &path, const RefTensor &t, NpyDType dtype,
              std::string &error);

} // namespace mlir::attn

#endif // ATTN_REFERENCE_NPY_H
