#!/usr/bin/env python3
"""GPU check harness: runs kernel bundles through the attention-opt runtime
(libattn_runtime.so, through runtime/python/attn_runtime.py) against an fp64
reference, then times them side by side with PyTorch SDPA (flash and cuDNN
backends) and FlexAttention; linear-attention bundles (kind=linear) side by
side with the same chunked algorithm written in PyTorch and, when it
imports, flash-linear-attention.

The same harness runs the CPU target (numpy buffers), which is how it is
tested on machines without a GPU (test/e2e and bench/gpu_check.sh --cpu).

Usage: gpu_check.py --bundles DIR --runtime LIB [--target auto|cpu]
                    [--sets default,tma,...] [--jsonl FILE] [--out PREFIX]
                    [--no-bench] [--no-check]
       gpu_check.py --merge FILE.jsonl --out PREFIX
gpu_check.sh runs each bundle set and the benchmark as separate processes
under a timeout (an mbarrier wait that never completes hangs a kernel) and
merges the JSON-lines records into the results files.
"""
import argparse
import datetime
import glob
import json
import math
import os
import subprocess
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "runtime", "python"))
import attn_runtime  # noqa: E402

# ---------------------------------------------------------------- specs

def parse_spec(text):
    """The subset of docs/spec-grammar.md the GPU check uses."""
    s = {"batch": 1, "hq": 1, "hk": None, "hv": None, "sq": 1, "skv": None,
         "dqk": 64, "dv": None, "dtype": "f32", "causal": None, "window": None,
         "sink": 0, "softcap": 0.0, "alibi": False, "sigmoid": None,
         "gate": None, "lse": False, "scale": None,
         # kind=linear (causal unless mask=none)
         "linear": False, "feature": "identity", "decay": None,
         "norm_sum": False, "state_in": False, "state_out": False}
    mask_none = False
    for word in text.split():
        key, _, val = word.partition("=")
        if key == "kind":
            s["linear"] = val == "linear"
        elif key == "feature":
            s["feature"] = val
        elif key == "decay":
            s["decay"] = val if val == "alibi" else float(val)
        elif key == "norm" and val == "sum":
            s["norm_sum"] = True
        elif key == "state":
            s["state_in"] = val in ("in", "inout")
            s["state_out"] = val in ("out", "inout")
        elif key == "batch":
            s["batch"] = int(val)
        elif key == "heads":
            parts = val.split(":")
            if parts[0].isalpha():
                kind, base = parts[0], int(parts[1])
                table = {"mha": (base, base, base),
                         "gqa": (base, int(parts[2]) if len(parts) > 2 else base,
                                 int(parts[2]) if len(parts) > 2 else base),
                         "mqa": (base, 1, 1), "sqa": (base // 2, base // 4, base // 4),
                         "ssqa": (base // 2,) * 3, "xsqa": (base // 4,) * 3}
                s["hq"], s["hk"], s["hv"] = table[kind]
            else:
                nums = [int(p) for p in parts]
                s["hq"] = nums[0]
                s["hk"] = nums[1] if len(nums) > 1 else nums[0]
                s["hv"] = nums[2] if len(nums) > 2 else s["hk"]
        elif key == "seq":
            a = val.split(":")
            s["sq"], s["skv"] = int(a[0]), int(a[-1])
        elif key == "dim":
            a = val.split(":")
            s["dqk"], s["dv"] = int(a[0]), int(a[-1])
        elif key == "dtype":
            s["dtype"] = val
        elif key == "mask":
            for part in val.split("+"):
                if part == "causal":
                    s["causal"] = "br"
                elif part == "causal-topleft":
                    s["causal"] = "tl"
                elif part.startswith("window:"):
                    w = [int(x) for x in part.split(":")[1:]]
                    s["window"] = (w[0], w[1] if len(w) > 1 else 0)
                elif part.startswith("sink:"):
                    s["sink"] = int(part.split(":")[1])
                elif part == "none":
                    mask_none = True
                else:
                    raise ValueError(f"gpu_check: unsupported mask part {part}")
        elif key == "score":
            for part in val.split("+"):
                if part.startswith("softcap:"):
                    s["softcap"] = float(part.split(":")[1])
                elif part == "alibi":
                    s["alibi"] = True
                else:
                    raise ValueError(f"gpu_check: unsupported score {part}")
        elif key == "norm" and val.startswith("sigmoid"):
            s["sigmoid"] = float(val.split(":")[1]) if ":" in val else 0.0
        elif key == "gate":
            s["gate"] = {"1": "elem", "head": "head"}.get(val)
        elif key == "lse":
            s["lse"] = val == "1"
        elif key == "scale":
            s["scale"] = float(val)
    s["hk"] = s["hk"] or s["hq"]
    s["hv"] = s["hv"] or s["hk"]
    s["skv"] = s["skv"] or s["sq"]
    s["dv"] = s["dv"] or s["dqk"]
    if s["linear"] and not mask_none:
        s["causal"] = "br"
    return s


def alibi_slopes(n):
    def pow2(m):
        return [2.0 ** (-8.0 * (i + 1) / m) for i in range(m)]
    if n & (n - 1) == 0:
        return pow2(n)
    m = 1 << (n.bit_length() - 1)
    return pow2(m) + pow2(2 * m)[0::2][: n - m]


def reference(s, q, k, v, gate):
    """fp64 attention straight from the definitions (DESIGN.md section 2)."""
    Hq, Sq, Skv = s["hq"], s["sq"], s["skv"]
    scale = s["scale"] if s["scale"] is not None else 1.0 / math.sqrt(s["dqk"])
    kk = np.repeat(k, Hq // s["hk"], axis=1)
    vv = np.repeat(v, Hq // s["hv"], axis=1)
    sc = scale * np.einsum("bhid,bhjd->bhij", q, kk)
    if s["softcap"]:
        sc = s["softcap"] * np.tanh(sc / s["softcap"])
    off = 0 if s["causal"] == "tl" else Skv - Sq
    ia = np.arange(Sq)[:, None] + off
    j = np.arange(Skv)[None, :]
    if s["alibi"]:
        sl = np.array(alibi_slopes(Hq))[None, :, None, None]
        sc = sc - sl * np.abs(ia - j)[None, None]
    keep = np.ones((Sq, Skv), bool)
    if s["causal"]:
        keep &= j <= ia
    if s["window"]:
        keep &= (j >= ia - s["window"][0]) & (j <= ia + s["window"][1])
    if s["sink"]:
        keep |= (j < s["sink"]) & (j <= ia)
    if s["sigmoid"] is not None:
        p = np.where(keep, 1.0 / (1.0 + np.exp(-(sc + s["sigmoid"]))), 0.0)
        o = np.einsum("bhij,bhjd->bhid", p, vv)
        lse = None
    else:
        sc = np.where(keep, sc, -np.inf)
        m = sc.max(-1, keepdims=True)
        msafe = np.where(np.isfinite(m), m, 0.0)
        e = np.exp(sc - msafe)
        l = e.sum(-1, keepdims=True)
        o = np.einsum("bhij,bhjd->bhid", e / np.where(l == 0, 1, l), vv)
        lse = np.where(l[..., 0] == 0, -np.inf, np.log(np.where(l[..., 0] == 0, 1, l[..., 0])) + msafe[..., 0])
    if gate is not None:
        o = o / (1.0 + np.exp(-gate))
    return o, lse

def feature_map(x, feature):
    """phi of DESIGN.md's linear attention, on the last axis."""
    if feature == "elu1":
        return np.where(x > 0, x + 1.0, np.exp(np.minimum(x, 0.0)))
    if feature == "relu":
        return np.maximum(x, 0.0)
    if feature == "taylor2":
        outer = np.einsum("...a,...c->...ac", x, x).reshape(x.shape[:-1] + (-1,))
        return np.concatenate([np.ones(x.shape[:-1] + (1,)), x,
                               outer / math.sqrt(2.0)], -1)
    return x


def linear_decays(s):
    """lambda per head, or None without decay."""
    if s["decay"] is None:
        return None
    if s["decay"] == "alibi":
        return np.exp(-np.array(alibi_slopes(s["hq"])))
    return np.full(s["hq"], s["decay"])


def linear_log_decays(s):
    """ln lambda per head (0 without decay)."""
    lam = linear_decays(s)
    return np.log(lam) if lam is not None else np.zeros(s["hq"])


def linear_scale(s):
    """What q is multiplied by before the feature map (1 when unset)."""
    return s["scale"] if s["scale"] is not None else 1.0


def feature_dim(s):
    """F, the width of phi(x)."""
    return len(feature_map(np.zeros(s["dqk"]), s["feature"]))


def linear_reference(s, q, k, v, state_in):
    """fp64 linear attention straight from the definition (quadratic form):
    o_t = lambda^(t+1) phi(q_t) S_in + sum_{u<=t} lambda^(t-u)
    (phi(q_t).phi(k_u)) [v_u, 1], divided by its last column with norm=sum
    (0 where that is 0); the state after the sequence. Non-causal: every u,
    no decay."""
    S = s["sq"]
    pq = feature_map(q * linear_scale(s), s["feature"])
    pk = feature_map(k, s["feature"])
    vv = np.concatenate([v, np.ones(v.shape[:-1] + (1,))], -1) if s["norm_sum"] else v
    lam = linear_decays(s)
    t = np.arange(S)
    scores = np.einsum("bhif,bhjf->bhij", pq, pk)
    state_out = None
    if s["causal"]:
        w = (t[:, None] >= t[None, :]).astype(np.float64)[None]
        if lam is not None:
            diff = np.maximum(t[:, None] - t[None, :], 0)
            w = w * lam[:, None, None] ** diff[None]
        num = np.einsum("bhij,bhjc->bhic", scores * w[None], vv)
        lam_h = np.ones(s["hq"]) if lam is None else lam
        if state_in is not None:
            num += (lam_h[None, :, None, None] ** (t + 1)[None, None, :, None] *
                    np.einsum("bhif,bhfc->bhic", pq, state_in))
        kw = lam_h[:, None] ** (S - 1 - t)[None]  # [H, S]
        state_out = np.einsum("bhjf,bhjc->bhfc", pk * kw[None, :, :, None], vv)
        if state_in is not None:
            state_out += lam_h[None, :, None, None] ** S * state_in
    else:
        num = np.einsum("bhij,bhjc->bhic", scores, vv)
    if s["norm_sum"]:
        den = num[..., -1:]
        o = np.where(den == 0, 0.0, num[..., :-1] / np.where(den == 0, 1.0, den))
    else:
        o = num
    return o, state_out


# ---------------------------------------------------------------- runtime

class Runtime:
    """rt.load / rt.launch over the runtime's Python binding
    (runtime/python/attn_runtime.py); the harness passes device addresses."""

    def __init__(self, path):
        self.path = path

    def load(self, manifest):
        return attn_runtime.Bundle(manifest, library=self.path)

    def launch(self, bundle, target, ptrs, B, Sq, Skv, stream=None,
               workspace=None):
        bundle.launch(ptrs, B, Sq, Skv, target=target, stream=stream,
                      workspace=workspace)

# ---------------------------------------------------------------- buffers

DT_NP = {"f32": np.float32, "f16": np.float16}


def round_to(x, dtype):
    """Values as the kernel's dtype sees them (bf16: round to nearest even)."""
    if dtype == "bf16":
        b = x.astype(np.float32).view(np.uint32)
        b = ((b + 0x7FFF + ((b >> 16) & 1)) & 0xFFFF0000).astype(np.uint32)
        return b.view(np.float32).astype(np.float64)
    return x.astype(DT_NP[dtype]).astype(np.float64)


def to_kernel_bytes(x, dtype):
    if dtype == "bf16":
        return (x.astype(np.float32).view(np.uint32) >> 16).astype(np.uint16)
    return x.astype(DT_NP[dtype])


def from_kernel(buf, dtype):
    if dtype == "bf16":
        return (buf.astype(np.uint32) << 16).view(np.float32).astype(np.float64)
    return buf.astype(np.float64)


class Device:
    """Host (numpy) or CUDA (torch) buffers behind one interface."""

    def __init__(self, cuda):
        self.cuda = cuda
        if cuda:
            import torch
            self.torch = torch

    def upload(self, host):
        if not self.cuda:
            return np.ascontiguousarray(host)
        t = self.torch.from_numpy(np.ascontiguousarray(host)).cuda()
        return t

    def ptr(self, buf):
        return buf.data_ptr() if self.cuda else buf.ctypes.data

    def download(self, buf):
        if not self.cuda:
            return buf
        self.torch.cuda.synchronize()
        return buf.cpu().numpy()

    def stream(self):
        return self.torch.cuda.current_stream().cuda_stream if self.cuda else None


TOL = {"f32": 1e-5, "f16": 2.0 ** -9, "bf16": 2.0 ** -7}


def check_linear_bundle(rt, dev, man, manifest_path, target, s, rng):
    """A kind=linear bundle: q, k, v, [state_in], o, [state_out]."""
    B, H, S, dt = s["batch"], s["hq"], s["sq"], s["dtype"]
    cols = s["dv"] + (1 if s["norm_sum"] else 0)
    F = feature_dim(s)
    q, k = (round_to(rng.uniform(-1, 1, (B, H, S, s["dqk"])), dt) for _ in range(2))
    v = round_to(rng.uniform(-1, 1, (B, H, S, s["dv"])), dt)
    # A positive normalizer column, as a state of positive features has.
    state_in = rng.uniform(0, 1, (B, H, F, cols)) if s["state_in"] else None
    bufs = [dev.upload(to_kernel_bytes(x, dt)) for x in (q, k, v)]
    if state_in is not None:
        bufs.append(dev.upload(state_in.astype(np.float32)))
    out = dev.upload(np.zeros((B, H, S, s["dv"]),
                              np.uint16 if dt == "bf16" else DT_NP[dt]))
    bufs.append(out)
    state_out = None
    if s["state_out"]:
        state_out = dev.upload(np.zeros((B, H, F, cols), np.float32))
        bufs.append(state_out)
    bundle = rt.load(manifest_path)
    rt.launch(bundle, target, [dev.ptr(b) for b in bufs], B, S, S, dev.stream())
    got = from_kernel(dev.download(out), dt)
    ref_o, ref_state = linear_reference(s, q, k, v, state_in)
    err = float(np.abs(got - ref_o).max() / max(np.abs(ref_o).max(), 1e-30))
    ok = bool(np.isfinite(got).all() and err <= TOL[dt])
    result = {"bundle": man["name"], "spec": man["spec"], "target": target,
              "max_rel_err": err, "tol": TOL[dt], "pass": ok}
    if state_out is not None:
        gs = dev.download(state_out).astype(np.float64)
        # The state is f32 in every dtype; its error follows the inputs'
        # rounding like the output's (attention-run's rule: bf16 kernels
        # take their products on bf16 operands, phi(k) and the decayed v
        # rounded as a plain bf16 kernel rounds them).
        serr = float(np.abs(gs - ref_state).max() / max(np.abs(ref_state).max(), 1e-30))
        result["state_max_rel_err"] = serr
        result["pass"] = ok and serr <= TOL[dt]
        if state_in is not None:
            # An empty sequence passes the state through unchanged.
            empty = dev.upload(np.full((B, H, F, cols), np.nan, np.float32))
            rt.launch(bundle, target, [dev.ptr(b) for b in bufs[:-1]] +
                      [dev.ptr(empty)], B, 0, 0, dev.stream())
            result["empty_seq_pass"] = bool(
                (dev.download(empty) == state_in.astype(np.float32)).all())
            result["pass"] = result["pass"] and result["empty_seq_pass"]
    return result, bundle, bufs, s


def check_bundle(rt, dev, manifest_path, target, seed):
    man = json.load(open(manifest_path))
    s = parse_spec(man["spec"])
    rng = np.random.default_rng(seed)
    if s["linear"]:
        return check_linear_bundle(rt, dev, man, manifest_path, target, s, rng)
    B, Hq, Sq, Skv = s["batch"], s["hq"], s["sq"], s["skv"]
    dt = s["dtype"]

    def rand(*shape, lo=-1.0, hi=1.0):
        return round_to(rng.uniform(lo, hi, size=shape), dt)
    q = rand(B, Hq, Sq, s["dqk"])
    k = rand(B, s["hk"], Skv, s["dqk"])
    v = rand(B, s["hv"], Skv, s["dv"])
    gate = None
    if s["gate"]:
        gate = rand(B, Hq, Sq, s["dv"] if s["gate"] == "elem" else 1, lo=-2, hi=2)
    ins = [q, k, v] + ([gate] if gate is not None else [])
    bufs = [dev.upload(to_kernel_bytes(x, dt)) for x in ins]
    out = dev.upload(np.zeros((B, Hq, Sq, s["dv"]),
                              np.uint16 if dt == "bf16" else DT_NP[dt]))
    bufs.append(out)
    lse = None
    if s["lse"]:
        lse = dev.upload(np.zeros((B, Hq, Sq), np.float32))
        bufs.append(lse)
    bundle = rt.load(manifest_path)
    rt.launch(bundle, target, [dev.ptr(b) for b in bufs], B, Sq, Skv,
              dev.stream())
    got = from_kernel(dev.download(out), dt)
    ref_o, ref_lse = reference(s, q, k, v, gate)
    scale = max(np.abs(ref_o).max(), 1e-30)
    err = float(np.abs(got - ref_o).max() / scale)
    ok = bool(np.isfinite(got).all() and err <= TOL[dt])
    result = {"bundle": man["name"], "spec": man["spec"], "target": target,
              "max_rel_err": err, "tol": TOL[dt], "pass": ok}
    if lse is not None:
        gl = dev.download(lse).astype(np.float64)
        both_inf = np.isneginf(gl) & np.isneginf(ref_lse)
        with np.errstate(invalid="ignore"):
            d = np.where(both_inf, 0.0, np.abs(gl - ref_lse))
        result["lse_max_abs_err"] = float(d.max())
        ok &= bool(result["lse_max_abs_err"] <= 1e-3)
        result["pass"] = ok
    # The same bundle on an empty KV sequence (a launch may pass any sizes):
    # every row is fully masked, so O = 0 and LSE = -inf, over outputs
    # poisoned with NaN that an unwritten tile would leave.
    dt_out = np.uint16 if dt == "bf16" else DT_NP[dt]
    nan = np.full(got.shape, 0x7FC0 if dt == "bf16" else np.nan).astype(dt_out)
    out_e = dev.upload(nan)
    bufs_e = bufs[:-2] + [out_e] if lse is not None else bufs[:-1] + [out_e]
    lse_e = None
    if lse is not None:
        lse_e = dev.upload(np.full((B, Hq, Sq), np.nan, np.float32))
        bufs_e.append(lse_e)
    rt.launch(bundle, target, [dev.ptr(b) for b in bufs_e], B, Sq, 0,
              dev.stream())
    empty_ok = bool((from_kernel(dev.download(out_e), dt) == 0).all())
    if lse_e is not None:
        empty_ok &= bool(np.isneginf(dev.download(lse_e)).all())
    result["empty_kv_pass"] = empty_ok
    result["pass"] = result["pass"] and empty_ok
    return result, bundle, bufs, s


# Max |O - SDPA| / max |SDPA| a bench kernel may show (bf16 output; the
# bf16 tolerance of the CPU checks).
BENCH_TOL = 2.0 ** -7


def time_cuda(fn, reps=20):
    import torch
    fn()
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for _ in range(reps):
        fn()
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / reps * 1e-3


def bench_workspace(bundle, target, B, Sq, Skv):
    """The workspace timed launches share, as a serving loop runs a kernel:
    allocated (and zeroed) once, not per launch; SDPA's come from PyTorch's
    caching allocator. Timed outputs are checked afterwards, so this path
    is checked on the GPU too. None: the kernel takes none."""
    import torch
    need = bundle.workspace_size(B, Sq, Skv, target=target)
    return torch.zeros(need, dtype=torch.uint8, device="cuda") if need else None


class BenchInputs:
    """Random bf16 Q, K, V and the output of a bench bundle's spec, on the
    GPU, with what a launch needs."""

    def __init__(self, rt, manifest_path):
        import torch
        self.man = json.load(open(manifest_path))
        s = self.s = parse_spec(self.man["spec"])
        self.B, self.Hq, self.Sq, self.Skv = s["batch"], s["hq"], s["sq"], s["skv"]
        self.causal = s["causal"] is not None
        bf16 = dict(device="cuda", dtype=torch.bfloat16)
        self.q = torch.randn(self.B, self.Hq, self.Sq, s["dqk"], **bf16)
        self.k = torch.randn(self.B, s["hk"], self.Skv, s["dqk"], **bf16)
        self.v = torch.randn(self.B, s["hv"], self.Skv, s["dv"], **bf16)
        self.o = torch.empty(self.B, self.Hq, self.Sq, s["dv"], **bf16)
        self.ptrs = [t.data_ptr() for t in (self.q, self.k, self.v, self.o)]
        self.ref = None
        self.rt = rt
        self.bundle = rt.load(manifest_path)
        self.stream = torch.cuda.current_stream().cuda_stream
        self.flops = (4.0 * self.B * self.Hq * self.Sq * self.Skv * s["dqk"] *
                      (0.5 if self.causal else 1.0))

    def time(self, target):
        ws = bench_workspace(self.bundle, target, self.B, self.Sq, self.Skv)
        return time_cuda(lambda: self.rt.launch(self.bundle, target, self.ptrs, self.B,
                                                self.Sq, self.Skv, self.stream,
                                                workspace=ws))

    def kernel(self, target):
        """The manifest's description of the target's kernel and tiling."""
        for k in self.man["kernels"]:
            if k["target"] == target and k["format"] == "cubin":
                return f"{k.get('kernel', '?')} {'x'.join(map(str, k.get('tile', [])))}"
        return None

    def rel_err_vs_sdpa(self):
        """Max |O - SDPA| / max |SDPA| of the last launch: a timing is only
        worth something if the kernel computed the right thing at this
        size too (the check sets use small shapes)."""
        if self.ref is None:  # once per inputs, for every kernel timed on them
            import torch.nn.functional as F
            self.ref = F.scaled_dot_product_attention(
                self.q, self.k, self.v, is_causal=self.causal, enable_gqa=True).float()
        return ((self.o.float() - self.ref).abs().max() / self.ref.abs().max()).item()

    def measure(self, row, name, target):
        """Times `target` into row[name], with its error and kernel."""
        seconds = self.time(target)
        row["seconds"][name] = seconds
        row.setdefault("rel_err_vs_sdpa", {})[name] = self.rel_err_vs_sdpa()
        row.setdefault("kernels", {})[name] = self.kernel(target)
        return seconds


def time_variant(rt, manifest_path, row, label):
    """Times the sm_90a kernel of a variant bundle (same spec as `row`)."""
    name = "attention-opt:sm_90a/" + label
    try:
        inp = BenchInputs(rt, manifest_path)
        seconds = inp.measure(row, name, "sm_90a")
    except Exception as e:
        row.setdefault("errors", {})[name] = str(e)[:200]
        return
    row["tflops"][name] = inp.flops / seconds / 1e12


def bench_one(rt, manifest_path, results):
    """Our kernel vs SDPA (flash, cuDNN) vs FlexAttention on one bf16 spec."""
    import torch.nn.functional as F
    from torch.nn.attention import SDPBackend, sdpa_kernel
    inp = BenchInputs(rt, manifest_path)
    man, q, k, v, causal = inp.man, inp.q, inp.k, inp.v, inp.causal
    row = {"spec": man["spec"], "seconds": {}}
    # Every NVIDIA kernel of the bundle (sm_90: mma.sync, sm_90a: wgmma);
    # the ratio is taken for the fastest.
    for target in sorted({k["target"] for k in man["kernels"]
                          if k["format"] == "cubin"}):
        try:
            inp.measure(row, "attention-opt:" + target, target)
        except Exception as e:  # e.g. an sm_80-only bundle on this device
            row.setdefault("errors", {})[target] = str(e)[:200]
    # The variants (timed later) are extra columns; the ratio is the default's,
    # over the kernels that computed the right output.
    ours = [t for n, t in row["seconds"].items() if n.startswith("attention-opt:")
            and row.get("rel_err_vs_sdpa", {}).get(n, 1.0) <= BENCH_TOL]
    row["seconds"]["attention-opt"] = min(ours) if ours else None
    for name, backend in [("sdpa-flash", SDPBackend.FLASH_ATTENTION),
                          ("sdpa-cudnn", SDPBackend.CUDNN_ATTENTION)]:
        try:
            with sdpa_kernel(backend):
                row["seconds"][name] = time_cuda(
                    lambda: F.scaled_dot_product_attention(q, k, v, is_causal=causal,
                                                           enable_gqa=True))
        except Exception as e:  # a backend may not support the shape
            row["seconds"][name] = None
            row.setdefault("errors", {})[name] = str(e)[:200]
    row["flops"] = inp.flops
    finish_row(row)
    results.append(row)


def finish_row(row):
    """Rates and the ratio to the fastest peer from row["seconds"]."""
    flops = row["flops"]
    row["tflops"] = {n: (flops / t / 1e12 if t else None)
                     for n, t in row["seconds"].items()}
    peers = [t for n, t in row["seconds"].items()
             if not n.startswith("attention-opt") and t]
    row["ratio_to_best_peer"] = (min(peers) / row["seconds"]["attention-opt"]
                                 if peers and row["seconds"]["attention-opt"]
                                 else None)


def bench_flex(manifest_path):
    """FlexAttention on a bench spec: its own pass, after every other
    timing, because torch.compile builds a kernel per shape (seconds to
    a minute each) and must not keep the kernels' rows from being
    recorded."""
    import torch
    from torch.nn.attention.flex_attention import create_block_mask, flex_attention
    s = parse_spec(json.load(open(manifest_path))["spec"])
    bf16 = dict(device="cuda", dtype=torch.bfloat16)
    q = torch.randn(s["batch"], s["hq"], s["sq"], s["dqk"], **bf16)
    k = torch.randn(s["batch"], s["hk"], s["skv"], s["dqk"], **bf16)
    v = torch.randn(s["batch"], s["hv"], s["skv"], s["dv"], **bf16)
    # One static kernel per shape, as FlexAttention's own benchmarks build
    # it; more shapes than dynamo's default recompile limit.
    for name in ("cache_size_limit", "recompile_limit"):
        if hasattr(torch._dynamo.config, name):
            setattr(torch._dynamo.config, name, 64)
    flex = torch.compile(flex_attention, dynamic=False)
    bm = None
    if s["causal"]:
        off = s["skv"] - s["sq"]  # bottom-right, as the kernels and SDPA
        bm = create_block_mask(lambda b, h, qi, kv: qi + off >= kv, None, None,
                               s["sq"], s["skv"])
    return time_cuda(lambda: flex(q, k, v, block_mask=bm, enable_gqa=True))


def linear_flops(s, chunk):
    """Multiply-adds (x2) of the chunked algorithm, as attention-run counts
    them: per row the state product and update, per chunk the causal
    triangle against the features and the columns."""
    F = feature_dim(s)
    cols = s["dv"] + (1 if s["norm_sum"] else 0)
    per_head = 0.0
    for t0 in range(0, s["sq"], chunk):
        n = min(chunk, s["sq"] - t0)
        per_head += 2 * n * F * cols * 2
        if s["causal"]:
            per_head += n * (n + 1) / 2 * 2 * (F + cols)
    return per_head * s["batch"] * s["hq"]


def torch_chunked_linear(s, q, k, v, chunk=64):
    """The chunked algorithm (Lightning Attention-2) in plain PyTorch, f32
    math, a few matmuls per chunk: the unfused baseline, and the reference
    at bench sizes. Identity / elu1 / relu features."""
    import torch
    import torch.nn.functional as F
    q, k, v = q.float() * linear_scale(s), k.float(), v.float()
    if s["feature"] == "elu1":
        q, k = F.elu(q) + 1, F.elu(k) + 1
    elif s["feature"] == "relu":
        q, k = q.clamp_min(0), k.clamp_min(0)
    if s["norm_sum"]:
        v = torch.cat([v, torch.ones_like(v[..., :1])], -1)
    B, H, S, _ = q.shape
    log_lam = torch.tensor(linear_log_decays(s), device=q.device,
                           dtype=torch.float32)[:, None]
    if not s["causal"]:
        out = q @ (k.transpose(-1, -2) @ v)
    else:
        out = torch.empty(B, H, S, v.shape[-1], device=q.device)
        kv = torch.zeros(B, H, q.shape[-1], v.shape[-1], device=q.device)
        idx = torch.arange(chunk, device=q.device, dtype=torch.float32)
        for t0 in range(0, S, chunk):
            n = min(chunk, S - t0)
            qc, kc, vc = q[:, :, t0:t0 + n], k[:, :, t0:t0 + n], v[:, :, t0:t0 + n]
            i = idx[:n]
            diff = i[:, None] - i[None, :]
            w = torch.exp(log_lam[:, :, None] * diff.clamp_min(0)) * (diff >= 0)
            inter = (qc * torch.exp(log_lam * (i + 1))[..., None]) @ kv
            out[:, :, t0:t0 + n] = ((qc @ kc.transpose(-1, -2)) * w) @ vc + inter
            kd = torch.exp(log_lam * (n - 1 - i))[..., None]
            kv = (torch.exp(log_lam * n)[..., None] * kv +
                  (kc * kd).transpose(-1, -2) @ vc)
    if s["norm_sum"]:
        den = out[..., -1:]
        out = torch.where(den == 0, torch.zeros_like(den), out[..., :-1] / den)
    return out


def fla_runs(s):
    """Whether flash-linear-attention's simple_gla computes spec `s`."""
    return (s["linear"] and s["feature"] == "identity" and not s["norm_sum"]
            and s["causal"] is not None)


def bench_linear(rt, manifest_path, results, partial=lambda row: None,
                 variants=()):
    """Our linear kernel vs the PyTorch chunked baseline and, for identity
    features without normalization (what its simple_gla op computes),
    flash-linear-attention's chunk_simple_gla (Triton), on one bf16 spec.
    `variants`: (label, folder) of other builds of the spec, timed beside
    it on the same inputs (folder/bench/<manifest's name>)."""
    import torch
    man = json.load(open(manifest_path))
    s = parse_spec(man["spec"])
    B, H, S = s["batch"], s["hq"], s["sq"]
    bf16 = dict(device="cuda", dtype=torch.bfloat16)
    # Small values keep identity features' sums (no normalizer) in range.
    q = torch.randn(B, H, S, s["dqk"], **bf16) * 0.1
    k = torch.randn(B, H, S, s["dqk"], **bf16) * 0.1
    v = torch.randn(B, H, S, s["dv"], **bf16)
    o = torch.empty(B, H, S, s["dv"], **bf16)
    bundle = rt.load(manifest_path)
    stream = torch.cuda.current_stream().cuda_stream
    ptrs = [t.data_ptr() for t in (q, k, v, o)]
    target = "sm_90"
    kernel = next(kk for kk in man["kernels"] if kk["target"] == target)
    chunk = kernel["tile"][0]
    flops = linear_flops(s, chunk)
    # The grid shows the schedule: x is column chunks x sequence segments.
    row = {"kind": "bench-linear", "spec": man["spec"], "seconds": {},
           "rel_err_vs_fp32": {}, "grid": kernel["grid"],
           "tile": kernel["tile"]}
    ws = bench_workspace(bundle, target, B, S, S)
    row["seconds"]["attention-opt"] = time_cuda(
        lambda: rt.launch(bundle, target, ptrs, B, S, S, stream, workspace=ws),
        reps=5)
    ref = torch_chunked_linear(s, q, k, v)
    scale_ref = ref.abs().max()
    row["rel_err_vs_fp32"]["attention-opt"] = (
        (o.float() - ref).abs().max() / scale_ref).item()
    row["seconds"]["torch-chunked"] = time_cuda(
        lambda: torch_chunked_linear(s, q, k, v), reps=5)
    for label, folder in variants:
        vm = os.path.join(folder, "bench", os.path.basename(manifest_path))
        if not os.path.exists(vm):
            continue
        name = "attention-opt:" + label
        try:
            vk = next(kk for kk in json.load(open(vm))["kernels"]
                      if kk["target"] == target)
            vb = rt.load(vm)
            vws = bench_workspace(vb, target, B, S, S)
            o.fill_(float("nan"))
            row["seconds"][name] = time_cuda(
                lambda: rt.launch(vb, target, ptrs, B, S, S, stream,
                                  workspace=vws), reps=5)
            row["rel_err_vs_fp32"][name] = (
                (o.float() - ref).abs().max() / scale_ref).item()
            row.setdefault("variant_shapes", {})[name] = (
                f"grid {'x'.join(vk['grid'])}, tile "
                f"{'x'.join(map(str, vk['tile']))}")
        except Exception as e:
            row.setdefault("errors", {})[name] = str(e)[:300]
    # Kept if the peer's first call (Triton autotuning) outlasts the budget.
    partial(dict(row, tflops={n: flops / t / 1e12
                              for n, t in row["seconds"].items()}))
    if fla_runs(s):
        try:
            from fla.ops.simple_gla import chunk_simple_gla
            gamma = torch.tensor(linear_log_decays(s), device="cuda",
                                 dtype=torch.float32)
            qt, kt, vt = (x.transpose(1, 2).contiguous() for x in (q, k, v))
            run = lambda: chunk_simple_gla(qt, kt, vt, g_gamma=gamma,
                                           scale=linear_scale(s))
            out = run()[0].transpose(1, 2).float()
            row["rel_err_vs_fp32"]["fla"] = ((out - ref).abs().max() / scale_ref).item()
            row["seconds"]["fla"] = time_cuda(run, reps=5)
        except Exception as e:
            row.setdefault("errors", {})["fla"] = str(e)[:300]
    row["tflops"] = {n: flops / t / 1e12 for n, t in row["seconds"].items() if t}
    peers = [t for n, t in row["seconds"].items()
             if not n.startswith("attention-opt") and t]
    row["ratio_to_best_peer"] = min(peers) / row["seconds"]["attention-opt"]
    # The fastest build that computed the right thing (as the default's
    # error is judged: BENCH_TOL against the fp32 computation).
    ours = [t for n, t in row["seconds"].items() if n.startswith("attention-opt")
            and t and row["rel_err_vs_fp32"].get(n, 1.0) <= BENCH_TOL]
    row["best_variant_ratio_to_best_peer"] = (
        min(peers) / min(ours) if ours else None)
    results.append(row)


def record(path, rec):
    """Appends one result to the JSON-lines file (kept if a later kernel
    hangs and the process is killed)."""
    if path:
        with open(path, "a") as f:
            f.write(json.dumps(rec) + "\n")


def rows_of(records, kind):
    """One row per spec of `kind`: the finished one, else the last partial
    record (a process killed while timing a variant or a peer keeps what
    it had timed), else the error that ended it, which a kept row notes."""
    rows, errors = {}, {}
    for r in records:
        if r.get("kind") not in (kind, kind + "-partial"):
            continue
        if "seconds" not in r:  # an error or a hang
            errors.setdefault(r["spec"], r)
        elif r["spec"] not in rows or rows[r["spec"]].get("partial"):
            rows[r["spec"]] = dict(r, kind=kind)
            if r["kind"] != kind:
                rows[r["spec"]]["partial"] = True
    for spec, e in errors.items():
        if spec in rows:
            rows[spec].setdefault("errors", {})["run"] = e.get("error")
        else:
            rows[spec] = dict(e, kind=kind)
    return list(rows.values())


def write_report(records, out, target):
    """The results file pair <out>.json / <out>.md from all records."""
    checks = [r for r in records if r.get("kind") == "check"]
    bench = rows_of(records, "bench")
    linear = rows_of(records, "bench-linear")
    # A timing that failed or hung (no row kept) fails the run.
    bench_errors = [r for r in bench + linear if "seconds" not in r]
    # FlexAttention's pass (bench_flex) joins its rows.
    for f in (r for r in records if r.get("kind") == "bench-flex"):
        for r in bench:
            if r.get("spec") == f["spec"] and "seconds" in r:
                r["seconds"]["flex"] = f.get("seconds")
                if f.get("error"):
                    r.setdefault("errors", {})["flex"] = f["error"]
                if "flops" in r:
                    finish_row(r)
    errors = [r for r in records if r.get("kind") == "set-error"]
    passed = sum(r["pass"] for r in checks)
    # A bench kernel whose output disagrees with SDPA fails the run too.
    bench_wrong = sum(e > BENCH_TOL for r in bench
                      for e in r.get("rel_err_vs_sdpa", {}).values())
    failed = (len(checks) - passed + len(errors) + bench_wrong +
              len(bench_errors))
    # The GPU machine gets a copy of the tree without .git (and maybe no
    # git): gpu_check.sh passes the commit in ATTN_COMMIT.
    commit = os.environ.get("ATTN_COMMIT", "")
    if not commit:
        try:
            commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"],
                                    capture_output=True, text=True).stdout.strip()
        except OSError:
            commit = "unknown"
    # Our linear kernels (default and variants) must match the fp32 chunked
    # computation at bench size.
    linear_wrong = sum(e > BENCH_TOL for r in linear
                       for n, e in r.get("rel_err_vs_fp32", {}).items()
                       if n.startswith("attention-opt"))
    failed += linear_wrong
    doc = {"date": datetime.date.today().isoformat(), "commit": commit,
           "target": target, "checks": checks, "bench": bench,
           "bench_linear": linear, "set_errors": errors}
    json.dump(doc, open(out + ".json", "w"), indent=1)
    with open(out + ".md", "w") as f:
        f.write(f"# GPU check {doc['date']} (commit {commit})\n\n")
        f.write(f"correctness: {passed} passed, {len(checks) - passed} failed; "
                f"{bench_wrong} bench kernel outputs disagree with SDPA\n\n")
        for r in errors:
            f.write(f"- {r['set']}: {r['error']}\n")
        for r in bench_errors:
            f.write(f"- bench `{r['spec']}`: {str(r.get('error'))[:200]}\n")
        for r in checks:
            if not r["pass"]:
                why = r.get("error") or f"max_rel_err {r.get('max_rel_err')}"
                f.write(f"- FAIL {r.get('bundle')} on {r.get('target')} "
                        f"{r.get('variant', 'default')}: {str(why)[:200]}\n")
        if failed:
            f.write("\n")
        if bench:
            # One column per sm_90a variant that was timed.
            variants = sorted({n.split("/", 1)[1] for r in bench
                               for n in r.get("tflops", {})
                               if n.startswith("attention-opt:sm_90a/")})
            cols = (["attention-opt:sm_90", "attention-opt:sm_90a"] +
                    [f"attention-opt:sm_90a/{v}" for v in variants] +
                    ["sdpa-flash", "sdpa-cudnn", "flex"])
            heads = (["sm_90 mma.sync", "sm_90a default"] +
                     [f"sm_90a {v}" for v in variants] +
                     ["sdpa-flash", "sdpa-cudnn", "flex"])
            f.write("| spec | attention-opt TF/s (best) | % of 989 | " +
                    " | ".join(heads) + " | ratio to best peer | "
                    "best variant to best peer | best variant |\n" +
                    "|---" * (len(heads) + 6) + "|\n")
            fmt = lambda x: f"{x:.1f}" if x else "n/a"
            fmt2 = lambda x: f"{x:.2f}" if x else "n/a"
            wrong, kernels = [], {}
            for r in bench:
                if "tflops" not in r:
                    continue
                t = r["tflops"]
                err = r.get("rel_err_vs_sdpa", {})
                ok = lambda n: err.get(n, 0.0) <= BENCH_TOL
                # A kernel with a wrong output shows its rate struck out
                # and counts for no ratio.
                cell = lambda n: (fmt(t.get(n)) if ok(n) else
                                  f"~~{fmt(t.get(n))}~~")
                best = t.get("attention-opt")
                # The default kernels set the ratio; the best of every
                # variant shows what an option would buy.
                ours = [x for n, x in t.items()
                        if n.startswith("attention-opt") and x and ok(n)]
                peers = [x for n, x in t.items()
                         if not n.startswith("attention-opt") and x]
                any_ratio = max(ours) / max(peers) if ours and peers else None
                # Which build that is (target, or target/variant): the
                # candidate to make the default.
                fastest = max(((x, n.split(":", 1)[1]) for n, x in t.items()
                               if n.startswith("attention-opt:") and x and ok(n)),
                              default=(None, "n/a"))[1]
                f.write(f"| {r['spec']} | {fmt(best)} | {fmt(best / 9.89 if best else None)} | " +
                        " | ".join(cell(c) for c in cols) +
                        f" | {fmt2(r.get('ratio_to_best_peer'))} | {fmt2(any_ratio)} | {fastest} |\n")
                wrong += [f"- {n} on `{r['spec']}`: max rel err {e:.3g} vs SDPA"
                          for n, e in err.items() if e > BENCH_TOL]
                for n, k in r.get("kernels", {}).items():
                    kernels.setdefault(n, set()).add(k)
            if wrong:
                f.write("\nWrong outputs at bench sizes (tolerance "
                        f"{BENCH_TOL:.3g}):\n" + "\n".join(wrong) + "\n")
            if kernels:
                f.write("\nKernels built (kernel, tile block_q x block_kv x "
                        "warps x stages):\n" +
                        "".join(f"- {n}: {', '.join(sorted(map(str, k)))}\n"
                                for n, k in sorted(kernels.items())))
        if linear:
            f.write("\nLinear attention (sm_90 kernel; TF/s of the chunked "
                    "algorithm's FLOPs at the default's chunk, so the "
                    "variants' TF/s compare their times; max rel err vs the "
                    "fp32 chunked PyTorch computation):\n\n| spec | "
                    "attention-opt | torch-chunked | fla | ratio to best "
                    "peer | err | variants: TF/s (err; grid, tile) | best "
                    "variant to best peer |\n"
                    "|---|---|---|---|---|---|---|---|\n")
            for r in linear:
                t = r.get("tflops", {})
                errs = r.get("rel_err_vs_fp32", {})
                cell = lambda n: f"{t[n]:.2f}" if t.get(n) else "n/a"
                err = errs.get("attention-opt")
                ratio = r.get("ratio_to_best_peer")
                best = r.get("best_variant_ratio_to_best_peer")
                shape = (f" (grid {'x'.join(r['grid'])}, tile "
                         f"{'x'.join(map(str, r['tile']))})"
                         if r.get("grid") else "")
                shapes = r.get("variant_shapes", {})
                variants = "; ".join(
                    f"{n.split(':', 1)[1]} {cell(n)} "
                    f"({errs.get(n, float('nan')):.2g}; {shapes.get(n, '?')})"
                    for n in sorted(r.get("seconds", {}))
                    if n.startswith("attention-opt:")) or "n/a"
                f.write(f"| {r['spec']}{shape} | {cell('attention-opt')} | "
                        f"{cell('torch-chunked')} | {cell('fla')} | "
                        f"{f'{ratio:.2f}' if ratio else 'n/a'} | "
                        f"{f'{err:.2g}' if err is not None else 'n/a'} | "
                        f"{variants} | {f'{best:.2f}' if best else 'n/a'} |\n")
    print(f"gpu check: {passed} passed, {failed} failed")
    return 1 if failed or not checks else 0


class Watchdog:
    """Ends the process (exit code 4) when one armed step outlasts its
    limit: a kernel spinning on a flag or an mbarrier never returns, and
    only a new process gets the GPU back."""

    def __init__(self, seconds):
        import threading
        self.seconds, self.key, self.deadline = seconds, None, None
        self.lock = threading.Lock()
        if seconds > 0:
            threading.Thread(target=self._watch, daemon=True).start()

    def arm(self, key):
        import time
        with self.lock:
            self.key, self.deadline = key, time.monotonic() + self.seconds

    def disarm(self):
        with self.lock:
            self.deadline = None

    def _watch(self):
        import time
        while True:
            time.sleep(0.5)
            with self.lock:
                late = self.deadline is not None and time.monotonic() > self.deadline
            if late:
                print(f"gpu_check: {self.key} ran over {self.seconds:.0f} s: "
                      "hung; rerun with --resume", flush=True)
                os._exit(4)


def context_lost():
    """True when the CUDA context no longer runs work (a kernel faulted)."""
    import torch
    try:
        torch.cuda.synchronize()
        return torch.ones(1, device="cuda").sum().item() != 1.0
    except Exception:
        return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bundles", default="")
    ap.add_argument("--runtime", default="")
    ap.add_argument("--target", default="auto",
                    help="comma-separated targets to check every bundle on "
                         "(cpu, auto, sm_90, sm_90a, ...)")
    ap.add_argument("--sets", default="",
                    help="comma-separated bundle sets: default and the "
                         "variants/ folders (all if empty)")
    ap.add_argument("--out", default="",
                    help="write <out>.json and <out>.md")
    ap.add_argument("--jsonl", default="",
                    help="append each result to this file as it comes")
    ap.add_argument("--merge", default="",
                    help="only write --out from the results of this file")
    ap.add_argument("--host-buffers", action="store_true",
                    help="launch GPU targets on host (numpy) buffers: the "
                         "nvemu driver (ATTN_CUDA_LIBRARY) runs them on the CPU")
    ap.add_argument("--no-bench", action="store_true")
    ap.add_argument("--bench-kind", choices=["softmax", "linear", "flex"],
                    default="softmax",
                    help="which bench bundles to time (kind=linear or not; "
                         "flex: FlexAttention on the softmax specs)")
    ap.add_argument("--watchdog", type=float, default=0.0,
                    help="exit (code 4) when one check or timing takes "
                         "longer than this many seconds: a kernel hung")
    ap.add_argument("--resume", action="store_true",
                    help="skip what --jsonl already holds; what was started "
                         "there and never finished is recorded as hung")
    ap.add_argument("--no-check", action="store_true")
    args = ap.parse_args()
    if args.merge:
        records = [json.loads(l) for l in open(args.merge) if l.strip()]
        return write_report(records, args.out, args.target)
    rt = Runtime(args.runtime)
    targets = args.target.split(",")
    cuda = "cpu" not in targets and not args.host_buffers
    dev = Device(cuda)
    # The default bundles, then each sm_90a variant (gpu_check.sh --prepare).
    variants = sorted(os.path.basename(d) for d in
                      glob.glob(os.path.join(args.bundles, "variants", "*")))
    sets = [("default", args.bundles)] + [
        (v, os.path.join(args.bundles, "variants", v)) for v in variants]
    wanted = set(args.sets.split(",")) if args.sets else None
    records = []

    def emit(rec):
        records.append(rec)
        record(args.jsonl, rec)

    # Each check or timing is a "start" record, then its result keyed the
    # same way. A hung kernel leaves a start without a result: the watchdog
    # (or gpu_check.sh's timeout) ends the process, and the rerun with
    # --resume records it as hung and goes on with the next one.
    started, finished = set(), set()
    if args.resume and args.jsonl and os.path.exists(args.jsonl):
        for line in open(args.jsonl):
            r = json.loads(line) if line.strip() else {}
            if "key" in r:
                (started if r.get("kind") == "start" else finished).add(r["key"])
    watchdog = Watchdog(args.watchdog)

    def begin(key, hung_record):
        """False if `key` was done (or hung) in an earlier run."""
        if key in finished:
            return False
        if key in started:
            emit(dict(hung_record, key=key,
                      error="hung: the process was killed while it ran"))
            finished.add(key)
            return False
        record(args.jsonl, {"kind": "start", "key": key})
        watchdog.arm(key)
        if os.environ.get("ATTN_GPU_CHECK_HANG") == key:
            # Tests of the recovery: a kernel that never returns.
            import time
            time.sleep(1e9)
        return True

    for label, folder in sets:
        if args.no_check or (wanted and label not in wanted):
            continue
        manifests = sorted(glob.glob(os.path.join(folder, "check", "*.json")))
        # All bundles on one target before the next: a hang on sm_90a (the
        # newest kernels) keeps the sm_90 results.
        for target in targets:
            for i, m in enumerate(manifests):
                have = {k["target"] for k in json.load(open(m))["kernels"]}
                if target != "auto" and target not in have:
                    continue
                key = f"check {label} {target} {os.path.basename(m)}"
                failed = {"kind": "check", "bundle": os.path.basename(m),
                          "target": target, "pass": False}
                if label != "default":
                    failed["variant"] = label
                if not begin(key, failed):
                    continue
                try:
                    r = check_bundle(rt, dev, m, target, seed=i + 1)[0]
                except Exception as e:
                    r = dict(failed, error=str(e))
                r.update(kind="check", key=key)
                if label != "default":
                    r["variant"] = label
                watchdog.disarm()
                emit(r)
                print(("PASS " if r["pass"] else "FAIL ") + json.dumps(r), flush=True)
                if not r["pass"] and cuda and context_lost():
                    # A fault poisons the CUDA context for every later
                    # launch of this process: gpu_check.sh starts another.
                    print("gpu_check: CUDA context lost; rerun with --resume",
                          flush=True)
                    return 3
    if cuda and not args.no_bench and args.bench_kind == "flex":
        # Largest shapes first: the 8k rows matter most if the compiles
        # outlast the budget.
        def size(m):
            s = parse_spec(json.load(open(m))["spec"])
            return (-s["sq"] * s["skv"], s["causal"] is not None)
        for m in sorted(glob.glob(os.path.join(args.bundles, "bench", "*.json")), key=size):
            spec = json.load(open(m))["spec"]
            if parse_spec(spec)["linear"]:
                continue
            key = "flex " + os.path.basename(m)
            if not begin(key, {"kind": "bench-flex", "spec": spec, "seconds": None}):
                continue
            row = {"kind": "bench-flex", "spec": spec, "key": key}
            try:
                row["seconds"] = bench_flex(m)
            except Exception as e:
                row["seconds"], row["error"] = None, str(e)[:300]
            watchdog.disarm()
            emit(row)
            print("FLEX " + json.dumps(row), flush=True)
        return 0

    def fla_last(m):
        # The specs flash-linear-attention runs (its first call per shape
        # autotunes) after the others, in case that outlasts the budget;
        # otherwise the largest problems first (the dense 8k prefill is the
        # performance target), so a phase that runs out of time loses the
        # small ones.
        s = parse_spec(json.load(open(m))["spec"])
        return fla_runs(s), -s["batch"] * s["hq"] * s["sq"] * s["skv"], m

    if cuda and not args.no_bench:
        for m in sorted(glob.glob(os.path.join(args.bundles, "bench", "*.json")),
                        key=fla_last):
            rows = []
            spec = json.load(open(m))["spec"]
            is_linear = parse_spec(spec)["linear"]
            if is_linear != (args.bench_kind == "linear"):
                continue
            key = "bench " + os.path.basename(m)
            kind = "bench-linear" if is_linear else "bench"
            if not begin(key, {"kind": kind, "spec": spec}):
                continue
            if is_linear:
                try:
                    bench_linear(rt, m, rows, lambda r: record(
                        args.jsonl, dict(r, kind="bench-linear-partial")),
                        [(label, folder) for label, folder in sets[1:]
                         if not wanted or label in wanted])
                except Exception as e:
                    rows = [{"kind": "bench-linear", "spec": spec,
                             "error": str(e)[:300]}]
                watchdog.disarm()
                emit(dict(rows[0], key=key))
                print("BENCH " + json.dumps(rows[0]), flush=True)
                continue
            try:
                bench_one(rt, m, rows)
            except Exception as e:
                watchdog.disarm()
                emit({"kind": "bench", "spec": spec, "key": key,
                      "error": str(e)[:300]})
                print("BENCH-ERROR " + str(e)[:300], flush=True)
                continue
            # Record the default timings before the variants run.
            record(args.jsonl, dict(rows[0], kind="bench-partial"))
            for label, folder in sets[1:]:
                if wanted and label not in wanted:
                    continue
                vm = os.path.join(folder, "bench", os.path.basename(m))
                if os.path.exists(vm):
                    watchdog.arm(f"{key} {label}")
                    time_variant(rt, vm, rows[0], label)
                    record(args.jsonl, dict(rows[0], kind="bench-partial"))
            watchdog.disarm()
            emit(dict(rows[0], kind="bench", key=key))
            print("BENCH " + json.dumps(rows[0]), flush=True)
    if args.out:
        return write_report(records, args.out, args.target)
    failed = sum(not r["pass"] for r in records if r.get("kind") == "check")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
