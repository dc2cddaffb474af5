#!/usr/bin/env python3
"""The Python binding (runtime/python/attn_runtime.py) on CPU bundles.

Compiles specs with `attention-opt --gen ... --attn-compile=target=cpu`,
launches them through the binding on NumPy arrays and compares O (and LSE)
with a float64 NumPy reference written here; a split-KV bundle takes the
runtime's own workspace. Then the binding's refusals: a wrong tensor count
(the runtime's ATTN_ERR_INVALID), a wrong shape, element size or layout
(checked in Python: the C API sees only addresses), a target the bundle
lacks, a missing manifest.

Usage: python_runtime.py --attention-opt=PATH --runtime=libattn_runtime.so
"""

import argparse
import glob
import math
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "..", "runtime", "python"))
import attn_runtime  # noqa: E402


def compile_cpu(attention_opt, spec, out_dir):
    """The manifest of `spec` compiled for the CPU into `out_dir`."""
    ir = subprocess.run([attention_opt, f"--gen={spec}"], check=True,
                        capture_output=True, text=True).stdout
    path = os.path.join(out_dir, "spec.mlir")
    with open(path, "w") as f:
        f.write(ir)
    subprocess.run([attention_opt, path, "--attn-compile=target=cpu",
                    f"--emit-dir={out_dir}"], check=True, capture_output=True)
    (manifest,) = glob.glob(os.path.join(out_dir, "*.json"))
    return manifest


def reference(q, k, v, causal):
    """float64 softmax attention, query head h on K/V head h / (Hq / Hk),
    causal bottom-right: O and the natural-log LSE."""
    B, hq, sq, d = q.shape
    hk, skv = k.shape[1], k.shape[2]
    kk = np.repeat(k.astype(np.float64), hq // hk, axis=1)
    vv = np.repeat(v.astype(np.float64), hq // v.shape[1], axis=1)
    s = np.einsum("bhid,bhjd->bhij", q.astype(np.float64), kk) / math.sqrt(d)
    if causal:
        i = np.arange(sq)[:, None] + (skv - sq)
        s = np.where(np.arange(skv)[None, :] <= i, s, -np.inf)
    m = s.max(axis=-1, keepdims=True)
    p = np.exp(s - m)
    l = p.sum(axis=-1, keepdims=True)
    return np.einsum("bhij,bhjd->bhid", p / l, vv), (m + np.log(l))[..., 0]


def inputs(bundle, B, Sq, Skv, dtype, rng):
    shapes = bundle.shapes(B, Sq, Skv)
    return [rng.standard_normal(shapes[i]).astype(dtype) for i in range(3)]


def expect(cond, what):
    if not cond:
        raise AssertionError(what)
    print(f"PASS: {what}")


def expect_raises(exc, fn, what, status=None):
    try:
        fn()
    except exc as e:
        if status is not None and getattr(e, "status", None) != status:
            raise AssertionError(f"{what}: {e.status}, expected {status}")
        print(f"PASS: {what} ({e})")
        return
    raise AssertionError(f"{what}: no {exc.__name__}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-opt", required=True)
    ap.add_argument("--runtime", required=True)
    args = ap.parse_args()
    rng = np.random.default_rng(7)
    with tempfile.TemporaryDirectory() as tmp:
        # GQA causal prefill in f32, with LSE.
        d1 = os.path.join(tmp, "gqa")
        os.mkdir(d1)
        m1 = compile_cpu(args.attention_opt,
                         "batch=2 heads=gqa:4:2 seq=37:53 dim=32 mask=causal lse=1", d1)
        with attn_runtime.Bundle(m1, library=args.runtime) as b:
            expect(b.select() == ("cpu", b.name + ".cpu.so"),
                   "select('auto') picks the CPU kernel of a CPU bundle")
            q, k, v = inputs(b, 2, 37, 53, np.float32, rng)
            o = np.full((2, 4, 37, 32), np.nan, np.float32)
            lse = np.full((2, 4, 37), np.nan, np.float32)
            b.launch([q, k, v, o, lse], B=2, Sq=37, Skv=53)
            ro, rl = reference(q, k, v, causal=True)
            expect(np.abs(o - ro).max() <= 1e-5 * max(1.0, np.abs(ro).max()),
                   f"f32 GQA causal O within 1e-5 ({np.abs(o - ro).max():.2e})")
            expect(np.abs(lse - rl).max() <= 1e-5 * max(1.0, np.abs(rl).max()),
                   "f32 LSE within 1e-5")
            # The launch sizes are the caller's: the same kernel at Sq = Skv = 9.
            q9, k9, v9 = inputs(b, 1, 9, 9, np.float32, rng)
            o9 = np.zeros((1, 4, 9, 32), np.float32)
            l9 = np.zeros((1, 4, 9), np.float32)
            b.launch([q9, k9, v9, o9, l9], B=1, Sq=9, Skv=9, target="cpu")
            expect(np.abs(o9 - reference(q9, k9, v9, True)[0]).max() <= 1e-5,
                   "the same bundle at other launch sizes")

            expect_raises(attn_runtime.AttnError,
                          lambda: b.launch([q, k, v, o], B=2, Sq=37, Skv=53),
                          "a missing tensor is the runtime's error",
                          "ATTN_ERR_INVALID")
            expect_raises(ValueError,
                          lambda: b.launch([q, k, v, o, lse], B=2, Sq=36, Skv=53),
                          "shapes are checked against the manifest")
            expect_raises(ValueError,
                          lambda: b.launch([q.astype(np.float16), k, v, o, lse],
                                           B=2, Sq=37, Skv=53),
                          "element sizes are checked against the dtype")
            qt = np.ascontiguousarray(q.transpose(0, 1, 3, 2)).transpose(0, 1, 3, 2)
            expect_raises(ValueError,
                          lambda: b.launch([qt, k, v, o, lse], B=2, Sq=37, Skv=53),
                          "non-contiguous arrays are refused")
            expect_raises(attn_runtime.AttnError,
                          lambda: b.launch([q, k, v, o, lse], B=2, Sq=37, Skv=53,
                                           target="sm_90"),
                          "a target the bundle lacks", "ATTN_ERR_NO_BINARY")
        expect_raises(attn_runtime.AttnError,
                      lambda: attn_runtime.Bundle(os.path.join(tmp, "none.json"),
                                                  library=args.runtime),
                      "a missing manifest", "ATTN_ERR_IO")

        # Split-KV decode in f16: the runtime allocates the workspace.
        d2 = os.path.join(tmp, "split")
        os.mkdir(d2)
        m2 = compile_cpu(args.attention_opt,
                         "heads=mqa:4 seq=2:300 dim=64 dtype=f16 schedule=split_kv:3", d2)
        with attn_runtime.Bundle(m2, library=args.runtime) as b:
            q, k, v = inputs(b, 3, 2, 300, np.float16, rng)
            o = np.full((3, 4, 2, 64), np.nan, np.float16)
            b.launch([q, k, v, o], B=3, Sq=2, Skv=300)
            ro = reference(q, k, v, causal=False)[0]
            err = np.abs(o.astype(np.float64) - ro).max()
            expect(err <= 2.0 ** -9 * max(1.0, np.abs(ro).max()),
                   f"f16 split-KV decode O within f16 rounding ({err:.2e})")
            # The caller's workspace, zeroed once, for launches in a row:
            # the kernel leaves its counters zero, and each launch (new
            # inputs) is right.
            need = b.workspace_size(B=3, Sq=2, Skv=300)
            expect(need > 0 and need % 4 == 0,
                   f"split-KV decode takes a workspace ({need} bytes)")
            ws = np.zeros(need // 4, np.float32)
            for _ in range(2):
                q, k, v = inputs(b, 3, 2, 300, np.float16, rng)
                o[...] = np.nan
                b.launch([q, k, v, o], B=3, Sq=2, Skv=300, workspace=ws)
                ro = reference(q, k, v, causal=False)[0]
                err = np.abs(o.astype(np.float64) - ro).max()
                expect(err <= 2.0 ** -9 * max(1.0, np.abs(ro).max()),
                       f"split-KV decode on the caller's workspace ({err:.2e})")
            expect(b.workspace_size(B=3, Sq=2, Skv=300, target="cpu") == need,
                   "workspace_size for the cpu target")
            expect_raises(attn_runtime.AttnError,
                          lambda: b.launch([q, k, v, o], B=3, Sq=2, Skv=300,
                                           workspace=ws[:1]),
                          "a workspace too small", "ATTN_ERR_INVALID")
    return 0


if __name__ == "__main__":
    sys.exit(main())
