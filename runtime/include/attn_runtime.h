/*===- attn_runtime.h - Load and launch attention kernel bundles -*- C -*-===*\
|*                                                                          *|
|* The runtime C API of attention-opt. A bundle is a JSON manifest plus the *|
|* kernel binaries it names (CPU .so, CUDA cubin/ptx, AMD hsaco). The       *|
|* runtime loads the GPU drivers with dlopen (libcuda.so.1,                 *|
|* libamdhip64.so), so a program that embeds a kernel links neither CUDA,   *|
|* ROCm nor MLIR; only this library (-lattn_runtime, plus -ldl -lpthread    *|
|* when linking the static attn_runtime_static).                            *|
|*                                                                          *|
|* Plain C99; see docs/embedding.md for the manifest, the kernel ABIs and   *|
|* the generated <bundle>.h header that wraps these calls.                  *|
|*                                                                          *|
\*===----------------------------------------------------------------------===*/

#ifndef ATTN_RUNTIME_H
#define ATTN_RUNTIME_H

#include <stddef.h>
#include <stdint.h>

#if defined(ATTN_RUNTIME_BUILD) && defined(__GNUC__)
#define ATTN_API __attribute__((visibility("default")))
#else
#define ATTN_API
#endif

#ifdef __cplusplus
extern "C" {
#endif

/** Result of every runtime call. On failure attn_last_error() says why. */
typedef enum {
  ATTN_OK = 0,
  ATTN_ERR_INVALID = 1,   /* bad argument: null pointer, wrong tensor count, negative size */
  ATTN_ERR_IO = 2,        /* a manifest or binary file cannot be read (or a temp file written) */
  ATTN_ERR_FORMAT = 3,    /* malformed manifest, formula or binary size mismatch */
  ATTN_ERR_NO_DRIVER = 4, /* libcuda.so.1 / libamdhip64.so cannot be loaded */
  ATTN_ERR_NO_DEVICE = 5, /* the driver is there but reports no usable device */
  ATTN_ERR_NO_BINARY = 6, /* the bundle has no binary for the requested target / device */
  ATTN_ERR_LAUNCH = 7     /* dlopen/dlsym, module load or kernel launch failed */
} attn_status;

/** A loaded bundle. Thread-safe: launches may run concurrently. */
typedef struct attn_bundle attn_bundle;

/** One binary file of a bundle, by the file name the manifest gives it. */
typedef struct {
  const char *name;
  const void *data;
  size_t size;
} attn_blob;

/** Launch arguments. `tensors` holds one pointer per tensor argument of the
 *  manifest, in manifest order (inputs and outputs; the i64 scalar arguments
 *  are not tensors). Host pointers for "cpu", device pointers for GPU
 *  targets. B, Sq, Skv give the dynamic sizes; every other dimension is
 *  fixed by the manifest. */
typedef struct {
  void **tensors;
  size_t num_tensors;
  int64_t B, Sq, Skv;
} attn_launch_args;

/** Loads DIR/name.json; binaries are read from DIR when first launched. */
ATTN_API attn_status attn_bundle_load(const char *manifest_path, attn_bundle **out);

/** Loads a bundle from a manifest string and blobs (copied; the caller's
 *  memory may go away after the call). A kernel whose file has no blob is
 *  unavailable (ATTN_ERR_NO_BINARY when asked for). */
ATTN_API attn_status attn_bundle_load_memory(const char *manifest_json, const attn_blob *blobs,
                                             size_t n, attn_bundle **out);

/** attn_bundle_load_memory once per slot: if *slot is already set, returns
 *  ATTN_OK; otherwise loads under a process-wide lock and stores the bundle
 *  in *slot (never freed). The generated headers use this for their cache. */
ATTN_API attn_status attn_bundle_load_memory_once(attn_bundle **slot, const char *manifest_json,
                                                  const attn_blob *blobs, size_t n);

/** Launches the kernel for `target`: "cpu", "sm_80", "sm_90", "gfx942", ...,
 *  or "auto" (or NULL): the first GPU binary that runs on the present device
 *  (the current CUDA context's device, else CUDA device 0; then the current
 *  HIP device), else the CPU binary. GPU launches are asynchronous on
 *  `stream` (CUstream / hipStream_t; NULL = default stream); set
 *  ATTN_RUNTIME_SYNC=1 to synchronize after each launch and report errors
 *  there. CPU launches run to completion on ATTN_NUM_THREADS threads
 *  (default: hardware concurrency) and ignore `stream`. */
ATTN_API attn_status attn_bundle_launch(attn_bundle *b, const char *target,
                                        const attn_launch_args *args, void *stream);

/** Bytes of workspace the kernel attn_bundle_launch(b, target, args, ...)
 *  would run takes at the sizes in `args` (device memory; host memory for
 *  the CPU kernel): the KV-splitting kernels' arrival counters and partial
 *  results. 0: none. `args->tensors` is not read. */
ATTN_API attn_status attn_bundle_workspace_size(attn_bundle *b, const char *target,
                                                const attn_launch_args *args, size_t *bytes);

/** attn_bundle_launch on a workspace the caller owns, so that the launch
 *  neither allocates nor frees (CUDA graph capture, allocation-free serving
 *  loops). `workspace`: at least attn_bundle_workspace_size's bytes of the
 *  launch device's memory (host memory for the CPU kernel), 16-byte
 *  aligned, zeroed by the caller once, when allocated. The runtime keeps
 *  the part that must start zeroed zero from launch to launch: the
 *  stream-K and split-KV kernels clear their counters when they finish
 *  ("workspace_zero_on_exit" in the manifest); for the others it clears it
 *  on `stream` before the launch. Launches that may run at the same time
 *  need separate workspaces; launches in one stream may share one. NULL:
 *  as attn_bundle_launch (a workspace per launch). A kernel without a
 *  workspace ignores it. */
ATTN_API attn_status attn_bundle_launch_with_workspace(attn_bundle *b, const char *target,
                                                       const attn_launch_args *args,
                                                       void *stream, void *workspace,
                                                       size_t workspace_bytes);

/** Which kernel attn_bundle_launch(b, target, ...) would run, without
 *  launching: its target and file name (valid while b lives). Either out
 *  pointer may be NULL. */
ATTN_API attn_status attn_bundle_select(attn_bundle *b, const char *target,
                                        const char **chosen_target, const char **chosen_file);

/** Bundle facts from the manifest (valid while b lives). */
ATTN_API const char *attn_bundle_name(const attn_bundle *b);
ATTN_API const char *attn_bundle_spec(const attn_bundle *b);
ATTN_API size_t attn_bundle_num_tensors(const attn_bundle *b);
ATTN_API int64_t attn_bundle_workspace_bytes(const attn_bundle *b);

/** Thread-local message of the last failure on this thread ("" if none). */
ATTN_API const char *attn_last_error(void);

/** Name of a status code, e.g. "ATTN_ERR_NO_DRIVER". */
ATTN_API const char *attn_status_name(attn_status s);

/** Frees the bundle: unloads its .so and GPU modules. NULL is a no-op. */
ATTN_API void attn_bundle_free(attn_bundle *b);

#ifdef __cplusplus
}
#endif

#endif /* ATTN_RUNTIME_H */
