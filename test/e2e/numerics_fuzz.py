#!/usr/bin/env python3
"""Random numerics: valid specs drawn off the e2e matrix's grid, each run by
attention-run --check on a random target (the CPU tile program, the NVIDIA
kernels on nvemu, the AMD kernel on the emulator) against the fp64
reference.

The matrix (matrix.py) walks fixed combinations; this draws the fields
independently (head groupings, ragged lengths around tile edges, head dims
on the 4 grid, mask parts intersected, score mods, gates, LSE, schedules,
packing, explicit tilings, the sm_90a kernel choices), so combinations no
list names get run too. Each case must pass the check, or be refused with
an error diagnostic (a tiling that does not fit, a target without a kernel
for the combination); a mismatch, a NaN, a crash or a silent failure fails
the run. The refusals are tallied by message so a new one is visible.

Deterministic: --seed fixes the cases. Usage:
  numerics_fuzz.py --attention-run=PATH [--cases=N] [--seed=S]
                   [--targets=cpu,sm_80,sm_90a,gfx942] [--list]
"""
import argparse
import collections
import math
import random
import re
import subprocess
import sys

from fuzz import CRASH_MARKERS  # test/e2e/fuzz.py, beside this script
SM90A_OPTIONS = ["", "", "overlap=1", "overlap=1 pingpong=1", "persistent=2",
                 "persistent=3 overlap=1 pingpong=1", "tma=0",
                 "warp-specialize=0", "exp2-ftz=0", "producer-registers=40",
                 "overlap=1 pingpong=1 producer-registers=24", "pingpong=1",
                 "persistent=2 pingpong=1"]


def length(rng):
    """Around the tile edges (16, 32, 64, 128, 176) more often than not;
    now and then long enough to wrap the pipeline stages many times."""
    r = rng.random()
    if r < 0.08:
        return rng.randint(300, 1200)
    edge = rng.choice([1, 16, 32, 64, 128, 176, 192])
    return max(1, edge + rng.randint(-2, 2)) if r < 0.6 else \
        rng.randint(1, 300)


def heads(rng):
    """Hq:Hk:Hv with Hk and Hv dividing Hq (MHA, GQA, MQA, DiffQKV)."""
    hk = rng.choice([1, 1, 2, 3])
    hv = rng.choice([hk, hk, 1, 2 * hk if hk < 3 else hk])
    lcm = hk * hv // math.gcd(hk, hv)
    hq = lcm * rng.choice([1, 1, 2, 3, 4])
    return f"{hq}:{hk}:{hv}", hq, hk, hv


def dims(rng):
    pick = lambda: rng.choice([16, 32, 64, 64, 128, 128, 8, 24, 40, 48, 72,
                               80, 96, 112, 160, 192, 256, 20, 36])
    dqk = pick()
    dv = dqk if rng.random() < 0.7 else pick()
    return dqk, dv


def mask(rng, sq, skv):
    """None, one part, or parts intersected (sink OR-ed in); sometimes a
    per-head choice."""
    def part():
        k = rng.choice(["causal", "causal-topleft", "window", "window2",
                        "document", "blocks", "blockmask"])
        if k == "window":
            return f"window:{rng.randint(0, 80)}"
        if k == "window2":
            return f"window:{rng.randint(0, 80)}:{rng.randint(0, 40)}"
        if k == "blocks":
            rows, cols = -(-sq // 16), -(-skv // 16)
            return "blocks:16x16:" + "/".join(
                "".join(rng.choice("011") for _ in range(cols))
                for _ in range(rows))
        if k == "blockmask":
            return "blockmask:16x16"
        return k

    def pattern():
        # One part of each kind (the grammar refuses repeats).
        parts = list({p.split(":")[0]: p for p in
                      (part() for _ in range(rng.choice([1, 1, 2])))}.values())
        # One alignment: causal and causal-topleft name different i_abs.
        if "causal" in parts and "causal-topleft" in parts:
            parts.remove("causal")
        if rng.random() < 0.25:
            parts.append(f"sink:{rng.randint(1, 8)}")
        return "+".join(parts)

    r = rng.random()
    if r < 0.25:
        return ""
    if r < 0.85:
        return "mask=" + pattern()
    pats = [pattern() for _ in range(rng.choice([2, 3]))]
    return "mask=perhead[" + ";".join(pats) + "]"


def softmax_spec(rng):
    dtype = rng.choice(["f32", "f16", "bf16"])
    hs, hq, hk, hv = heads(rng)
    sq, skv = length(rng), length(rng)
    if rng.random() < 0.3:
        sq = skv
    if rng.random() < 0.1:
        sq = 1  # decode
    dqk, dv = dims(rng)
    batch = rng.choice([1, 1, 2])
    if sq * skv > 300 * 300:  # the emulators' time grows with the scores
        batch, hs, hq, hk, hv = 1, "2:1:1", 2, 1, 1
    parts = [f"batch={batch}", f"heads={hs}",
             f"seq={sq}:{skv}", f"dim={dqk}:{dv}", f"dtype={dtype}",
             mask(rng, sq, skv)]
    mods = []
    if rng.random() < 0.2:
        mods.append(f"softcap:{rng.choice([5, 20, 50])}")
    if rng.random() < 0.2:
        mods.append("alibi")
    if rng.random() < 0.15:
        mods.append("bias")
    if mods:
        parts.append("score=" + "+".join(mods))
    if rng.random() < 0.1:
        parts.append(f"scale={rng.choice([0.05, 0.3, 1.0])}")
    sigmoid = rng.random() < 0.1
    if sigmoid:
        parts.append(rng.choice(["norm=sigmoid", "norm=sigmoid:-2"]))
    if rng.random() < 0.25:
        parts.append(rng.choice(["gate=1", "gate=head"]))
    if not sigmoid and rng.random() < 0.35:
        parts.append("lse=1")
    r = rng.random()
    if r < 0.12:
        parts.append(f"schedule=stream_k:{rng.choice([1, 3, 7, 16, 132])}")
    elif r < 0.22:
        parts.append(f"schedule=split_kv:{rng.choice([2, 3, 4])}")
    if hq > max(hk, hv) and rng.random() < 0.25:
        parts.append("pack_gqa=1")
    if rng.random() < 0.2:
        bq = rng.choice([16, 32, 64, 128])
        bkv = rng.choice([16, 32, 64, 128, 48, 96])
        parts.append(f"tile={bq}x{bkv}")
        parts.append(f"warps={rng.choice([1, 2, 4, 8])}")
        parts.append(f"stages={rng.choice([1, 2, 3])}")
    return " ".join(p for p in parts if p)


def linear_spec(rng):
    feature = rng.choice(["identity", "elu1", "relu", "taylor2"])
    dk = rng.choice([4, 8, 16]) if feature == "taylor2" else \
        rng.choice([8, 16, 32, 64, 128, 24, 40])
    dv = dk if rng.random() < 0.6 else rng.choice([8, 16, 32, 64, 96, 128])
    causal = rng.random() < 0.7
    parts = ["kind=linear", f"batch={rng.choice([1, 2])}",
             f"heads={rng.choice([1, 2, 3])}", f"seq={length(rng)}",
             f"dim={dk}:{dv}", f"dtype={rng.choice(['f32', 'f16', 'bf16'])}",
             f"feature={feature}", "mask=causal" if causal else "mask=none"]
    # norm=sum with the identity map divides by sums that change sign: no
    # tolerance is meaningful there (as matrix.py).
    if feature != "identity" and rng.random() < 0.5:
        parts.append("norm=sum")
    if causal:
        if rng.random() < 0.5:
            parts.append(rng.choice(["decay=0.9", "decay=0.99", "decay=alibi"]))
        if rng.random() < 0.5:
            parts.append(rng.choice(["state=in", "state=out", "state=inout"]))
    if rng.random() < 0.2:
        parts.append(f"schedule=split_kv:{rng.choice([2, 3, 5])}")
    return " ".join(parts)


def cases(seed, n, targets):
    rng = random.Random(seed)
    out = []
    for i in range(n):
        spec = linear_spec(rng) if rng.random() < 0.2 else softmax_spec(rng)
        target = targets[i % len(targets)]
        opts = rng.choice(SM90A_OPTIONS) if target == "sm_90a" else ""
        # The launch paths beside the direct call: on the CPU the tile
        # count against the analysis, or the bundle through the runtime
        # (with a caller workspace); anywhere repeated launches on
        # poisoned outputs.
        flags = []
        r = rng.random()
        if target == "cpu" and r < 0.3 and not spec.startswith("kind=linear"):
            flags.append("--count-tiles")
        elif target == "cpu" and r < 0.5:
            flags += ["--runtime"] + (["--caller-workspace"]
                                      if rng.random() < 0.5 else [])
        elif target != "cpu" and r < 0.15:
            flags.append("--caller-workspace")
        if rng.random() < 0.15:
            flags.append("--launches=2")
        out.append((spec, target, opts, flags, rng.randint(1, 10**6)))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-run", required=True)
    ap.add_argument("--cases", type=int, default=60)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--targets", default="cpu,sm_80,sm_90a,gfx942")
    ap.add_argument("--list", action="store_true")
    args = ap.parse_args()
    all_cases = cases(args.seed, args.cases, args.targets.split(","))
    if args.list:
        for spec, target, opts, flags, seed in all_cases:
            print(f"{target} [{opts}] {' '.join(flags)} {spec}")
        return 0
    passed, failed, refused = 0, 0, collections.Counter()
    for spec, target, opts, flags, seed in all_cases:
        cmd = [args.attention_run, f"--spec={spec}", "--check",
               f"--seed={seed}", f"--target={target}"] + flags
        if opts:
            cmd.append(f"--kernel-options={opts}")
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=600)
        except subprocess.TimeoutExpired:
            failed += 1
            print(f"TIMEOUT: {' '.join(repr(c) for c in cmd)}")
            continue
        out = r.stdout + r.stderr
        crashed = r.returncode < 0 or any(m in out for m in CRASH_MARKERS)
        mismatch = re.search(r"\bFAIL\b|nan", out, re.IGNORECASE)
        if r.returncode == 0 and not crashed and not mismatch:
            passed += 1
        elif r.returncode != 0 and not crashed and not mismatch and \
                "error:" in out:
            # Refused: the message without the numbers, so like refusals
            # tally together.
            msg = next(l for l in out.splitlines() if "error:" in l)
            refused[re.sub(r"\d+", "N", msg.split("error:", 1)[1].strip())
                    [:110]] += 1
        else:
            failed += 1
            print(f"FAIL ({'crash' if crashed else 'mismatch' if mismatch else 'exit %d' % r.returncode}): "
                  f"attention-run --spec=\"{spec}\" --target={target}"
                  + (f" --kernel-options=\"{opts}\"" if opts else "")
                  + f" --seed={seed} {' '.join(flags)} --check\n{out}")
    for msg, count in refused.most_common():
        print(f"refused x{count}: {msg}")
    print(f"numerics fuzz (seed {args.seed}): {passed} passed, "
          f"{sum(refused.values())} refused, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
