"""Python binding of the attn bundle runtime (libattn_runtime.so), stdlib only.

Loads a kernel bundle (the manifest `attention-opt --attn-compile` writes) and
launches its kernels on the host's tensors: NumPy arrays for the CPU kernel,
PyTorch tensors (or any object with `data_ptr()` or
`__cuda_array_interface__`) for the GPU ones, or raw addresses as ints.

    import attn_runtime
    with attn_runtime.Bundle("out/gqa_causal.json") as b:
        b.launch([q, k, v, o], B=1, Sq=512, Skv=512)          # target "auto"
        b.launch([q, k, v, o], B=1, Sq=512, Skv=512, target="cpu")

Tensors go in manifest order (`Bundle.args`). When a tensor carries a shape
and an element size, `launch` checks them against the manifest's shape
formulas and dtype before the kernel runs (the C API sees only addresses),
and it refuses non-contiguous arrays. The workspace of stream-K and split-KV
kernels is allocated per launch, as in C, unless the caller passes one
(`workspace=`, of at least `workspace_size(...)` bytes, zeroed once when
allocated): then the launch allocates nothing. The library is found at
`library=`, else $ATTN_RUNTIME_LIBRARY, else by the dynamic loader's search.
"""

import ctypes
import json
import os

__all__ = ["AttnError", "Bundle"]

_ELEMENT_BYTES = {"f32": 4, "f16": 2, "bf16": 2}


class AttnError(RuntimeError):
    """A runtime call failed: `status` (its ATTN_ERR_* name, e.g.
    "ATTN_ERR_NO_DRIVER") and the runtime's message."""

    def __init__(self, status, message):
        self.status = status
        super().__init__(f"{status}: {message}")


class _LaunchArgs(ctypes.Structure):
    _fields_ = [("tensors", ctypes.POINTER(ctypes.c_void_p)),
                ("num_tensors", ctypes.c_size_t),
                ("B", ctypes.c_int64), ("Sq", ctypes.c_int64),
                ("Skv", ctypes.c_int64)]


_libraries = {}


def _library(path):
    path = path or os.environ.get("ATTN_RUNTIME_LIBRARY") or "libattn_runtime.so"
    if path not in _libraries:
        lib = ctypes.CDLL(path)
        vp, cp = ctypes.c_void_p, ctypes.c_char_p
        for name, args, res in [
                ("attn_bundle_load", [cp, ctypes.POINTER(vp)], ctypes.c_int),
                ("attn_bundle_launch", [vp, cp, ctypes.POINTER(_LaunchArgs), vp],
                 ctypes.c_int),
                ("attn_bundle_launch_with_workspace",
                 [vp, cp, ctypes.POINTER(_LaunchArgs), vp, vp, ctypes.c_size_t],
                 ctypes.c_int),
                ("attn_bundle_workspace_size",
                 [vp, cp, ctypes.POINTER(_LaunchArgs),
                  ctypes.POINTER(ctypes.c_size_t)], ctypes.c_int),
                ("attn_bundle_select", [vp, cp, ctypes.POINTER(cp),
                                        ctypes.POINTER(cp)], ctypes.c_int),
                ("attn_bundle_free", [vp], None),
                ("attn_last_error", [], cp),
                ("attn_status_name", [ctypes.c_int], cp)]:
            fn = getattr(lib, name)
            fn.argtypes, fn.restype = args, res
        _libraries[path] = lib
    return _libraries[path]


def _address(t):
    """The device or host address of tensor `t`."""
    if t is None or isinstance(t, int):
        return t
    if hasattr(t, "data_ptr"):  # PyTorch
        return t.data_ptr()
    for attr in ("__cuda_array_interface__", "__array_interface__"):
        if hasattr(t, attr):
            return getattr(t, attr)["data"][0]
    raise TypeError(f"cannot take the address of a {type(t).__name__}")


def _stream(s):
    if s is None or isinstance(s, int):
        return s
    if hasattr(s, "cuda_stream"):  # torch.cuda.Stream
        return s.cuda_stream
    if isinstance(s, ctypes.c_void_p):
        return s.value
    raise TypeError(f"not a stream: {type(s).__name__}")


def _element_bytes(t):
    if hasattr(t, "element_size"):  # PyTorch
        return t.element_size()
    return getattr(t, "itemsize", None)


def _contiguous(t):
    if hasattr(t, "is_contiguous"):
        return t.is_contiguous()
    flags = getattr(t, "flags", None)
    return flags is None or flags["C_CONTIGUOUS"]


class Bundle:
    """A loaded bundle: `launch` runs one of its kernels."""

    def __init__(self, manifest, library=None):
        self._lib = _library(library)
        self._handle = None
        handle = ctypes.c_void_p()
        self._check(self._lib.attn_bundle_load(os.fsencode(manifest),
                                               ctypes.byref(handle)))
        self._handle = handle
        with open(manifest) as f:
            self.manifest = json.load(f)
        self.name = self.manifest["name"]
        self.spec = self.manifest["spec"]
        self.args = self.manifest["args"]
        self.targets = [k["target"] for k in self.manifest["kernels"]]

    def _check(self, status):
        if status != 0:
            raise AttnError(self._lib.attn_status_name(status).decode(),
                            (self._lib.attn_last_error() or b"").decode())

    def select(self, target="auto"):
        """(target, file) of the kernel `launch(..., target)` would run."""
        chosen, file = ctypes.c_char_p(), ctypes.c_char_p()
        self._check(self._lib.attn_bundle_select(
            self._handle, target.encode(), ctypes.byref(chosen),
            ctypes.byref(file)))
        return chosen.value.decode(), file.value.decode()

    def shapes(self, B, Sq, Skv):
        """Each argument's shape at these launch sizes."""
        sizes = {"B": B, "Sq": Sq, "Skv": Skv}
        return [tuple(sizes[d] if d in sizes else int(d) for d in a["shape"])
                for a in self.args]

    def workspace_size(self, B, Sq, Skv, target="auto"):
        """Bytes of workspace `launch(..., target)` takes at these sizes
        (0: none)."""
        if self._handle is None:
            raise ValueError(f"bundle {self.name} is closed")
        args = _LaunchArgs(None, len(self.args), B, Sq, Skv)
        size = ctypes.c_size_t()
        self._check(self._lib.attn_bundle_workspace_size(
            self._handle, target.encode(), ctypes.byref(args),
            ctypes.byref(size)))
        return size.value

    def launch(self, tensors, B, Sq, Skv, target="auto", stream=None,
               workspace=None):
        """Runs the kernel for `target` ("auto": the first GPU binary that
        runs on the present device, else the CPU one) on `tensors`, in
        manifest order, at launch sizes (B, Sq, Skv). GPU launches are
        asynchronous on `stream`. `workspace`: a buffer of at least
        `workspace_size` bytes, zeroed when allocated, that launches in
        stream order may share (attn_bundle_launch_with_workspace)."""
        if self._handle is None:
            raise ValueError(f"bundle {self.name} is closed")
        tensors = list(tensors)
        if len(tensors) == len(self.args):
            for a, t, shape in zip(self.args, tensors, self.shapes(B, Sq, Skv)):
                have = getattr(t, "shape", None)
                if have is not None and tuple(have) != shape:
                    raise ValueError(f"{self.name}: {a['name']} has shape "
                                     f"{tuple(have)}, the kernel takes {shape}")
                size = _element_bytes(t)
                if size is not None and size != _ELEMENT_BYTES[a["dtype"]]:
                    raise ValueError(f"{self.name}: {a['name']} has {size}-byte "
                                     f"elements, the kernel takes {a['dtype']}")
                if not _contiguous(t):
                    raise ValueError(f"{self.name}: {a['name']} is not "
                                     "contiguous")
        addresses = (ctypes.c_void_p * len(tensors))(*map(_address, tensors))
        args = _LaunchArgs(addresses, len(tensors), B, Sq, Skv)
        if workspace is None:
            self._check(self._lib.attn_bundle_launch(
                self._handle, target.encode(), ctypes.byref(args),
                _stream(stream)))
            return
        nbytes = getattr(workspace, "nbytes", None)
        if nbytes is None and hasattr(workspace, "element_size"):
            nbytes = workspace.numel() * workspace.element_size()
        if nbytes is None:
            raise TypeError("workspace: an array or tensor (its size is "
                            "checked against the kernel's)")
        self._check(self._lib.attn_bundle_launch_with_workspace(
            self._handle, target.encode(), ctypes.byref(args), _stream(stream),
            _address(workspace), nbytes))

    def close(self):
        if self._handle is not None:
            self._lib.attn_bundle_free(self._handle)
            self._handle = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        self.close()
