#!/usr/bin/env python3
"""Bad input never crashes the compiler: random specs (valid and not) through
attention-opt --gen, and random mutations of valid attn IR, each compiled by
attention-opt --attn-compile for a random target. Every run must either
succeed or fail with an "error:" diagnostic and exit code 1; a signal, an
assertion, "LLVM ERROR", a stack dump, any other exit code, or a failure
without a diagnostic fails the test (the offending input is printed, and
written to --keep=DIR when given).

Deterministic: --seed fixes the cases. Usage:
  fuzz.py --attention-opt=PATH --seeds=FILE.mlir[,...] [--cases=N] [--seed=S]
          [--targets=cpu,sm_80,...] [--keep=DIR]
"""
import argparse
import os
import random
import re
import subprocess
import sys
import tempfile

CRASH_MARKERS = ("PLEASE submit a bug report", "Assertion", "LLVM ERROR",
                 "Stack dump", "UNREACHABLE", "Segmentation fault")
NUMBERS = [0, 1, 2, 3, 4, 5, 7, 8, 12, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64,
           65, 72, 96, 100, 127, 128, 129, 192, 255, 256, 257, 512, 1000,
           4096, 65536, 2147483647]


def pick(rng, *options):
    return rng.choice(options)


def random_spec(rng):
    """A spec string from the grammar (docs/spec-grammar.md), with values
    drawn to hit the edges: zero and huge sizes, heads that do not divide,
    windows past the sequence, tilings that cannot fit."""
    # Mostly sizes a kernel takes, some edges.
    n = lambda: (rng.choice(NUMBERS) if rng.random() < 0.2 else
                 rng.choice([1, 2, 4, 8, 16, 32, 64, 3, 5, 7, 100]))
    pow2 = lambda: (rng.choice(NUMBERS) if rng.random() < 0.2 else
                    rng.choice([16, 32, 64, 128]))
    kind = pick(rng, "softmax", "softmax", "linear")
    parts = [f"kind={kind}", f"name=f{rng.randint(0, 999)}"]
    if rng.random() < 0.5:
        parts.append(f"batch={pick(rng, 1, 2, 3, 0)}")
    heads = pick(rng, f"{n()}", f"{n()}:{n()}", f"{n()}:{n()}:{n()}",
                 f"gqa:{n()}:{n()}", f"mqa:{n()}", f"sqa:{n()}",
                 f"ssqa:{n()}", f"xsqa:{n()}", "4:2:1", "8:2", "gqa:8:2")
    parts.append(f"heads={heads}")
    parts.append(f"seq={pick(rng, n(), f'{n()}:{n()}', '1:300', '7:7')}")
    parts.append(f"dim={pick(rng, n(), f'{n()}:{n()}', 64, 128, 72, '32:80')}")
    parts.append(f"dtype={pick(rng, 'f32', 'f16', 'bf16', 'f32', 'f16', 'bf16', 'f64')}")
    if rng.random() < 0.6:
        masks = ["causal", "causal-topleft", f"window:{n()}",
                 f"window:{n()}:{n()}", f"sink:{n()}+window:{n()}",
                 "document", "causal+document", f"blocks:16x16:{pick(rng, '1', '10/11', '1/0/1')}",
                 f"blockmask:{n()}x{n()}", "perhead[causal;window:8]",
                 "perhead[causal;sink:2+window:8]@0,1,1,0", "none", "bogus"]
        # Sometimes two entries joined: parts that combine and parts that
        # cannot (blocks with blockmask, none with anything, perhead).
        parts.append("mask=" + (rng.choice(masks) if rng.random() < 0.7 else
                                "+".join(rng.sample(masks, 2))))
    if rng.random() < 0.3:
        parts.append(f"score={pick(rng, 'softcap:20', 'alibi', 'bias', 'softcap:0', 'alibi+bias', 'softcap:-1')}")
    if rng.random() < 0.2:
        parts.append(f"scale={pick(rng, 0.5, 0, -1, 'nan', 1e30)}")
    if rng.random() < 0.3:
        parts.append(f"norm={pick(rng, 'softmax', 'sigmoid', 'sigmoid:-1', 'sum', 'none')}")
    if rng.random() < 0.2:
        parts.append(f"gate={pick(rng, 0, 1, 'head', 2)}")
    if rng.random() < 0.2:
        parts.append(f"lse={pick(rng, 0, 1)}")
    if kind == "linear" or rng.random() < 0.1:
        parts.append(f"feature={pick(rng, 'identity', 'elu1', 'relu', 'taylor2')}")
        if rng.random() < 0.5:
            parts.append(f"decay={pick(rng, 0.9, 1, 'alibi', 0, 2)}")
        if rng.random() < 0.5:
            parts.append(f"state={pick(rng, 'in', 'out', 'inout', 'none')}")
    if rng.random() < 0.3:
        # KV tiles past powers of two: multiples of 16 (valid) and not.
        parts.append(f"tile={pow2()}x{pick(rng, pow2(), 48, 80, 176, 24, 528)}")
    if rng.random() < 0.2:
        parts.append(f"warps={pick(rng, 0, 1, 2, 3, 4, 8, 16, 64)}")
    if rng.random() < 0.2:
        parts.append(f"stages={pick(rng, 0, 1, 2, 3, 8)}")
    if rng.random() < 0.25:
        parts.append(f"schedule={pick(rng, 'auto', 'flash', f'split_kv:{n()}', f'stream_k:{n()}')}")
    if rng.random() < 0.2:
        parts.append(f"pack_gqa={pick(rng, 0, 1)}")
    rng.shuffle(parts)
    return " ".join(parts)


def seed_functions(paths):
    """The functions of the seed files (split on '// -----'), without
    comment lines."""
    out = []
    for path in paths:
        with open(path) as f:
            text = f.read()
        for chunk in text.split("// -----"):
            body = "\n".join(l for l in chunk.splitlines()
                             if not l.strip().startswith("//"))
            if "attn." in body:
                out.append(body)
    return out


def mutate(rng, text):
    """One to three edits: one dimension of a tensor shape (everywhere the
    shape occurs, so the IR still parses), an integer literal (attribute),
    an element type, or a deleted attribute / line."""
    for _ in range(rng.randint(1, 3)):
        kind = rng.random()
        ints = [m for m in re.finditer(r"(?<![%#\w])\d+(?![x\w])", text)]
        shapes = sorted(set(re.findall(r"tensor<((?:\d+x)+)", text)))
        if kind < 0.35 and shapes:
            shape = rng.choice(shapes)
            dims = shape.rstrip("x").split("x")
            dims[rng.randrange(len(dims))] = str(rng.choice(NUMBERS[1:28]))
            text = text.replace(f"tensor<{shape}", "tensor<" + "x".join(dims) + "x")
        elif kind < 0.55 and ints:
            m = rng.choice(ints)
            text = text[:m.start()] + str(rng.choice(NUMBERS)) + text[m.end():]
        elif kind < 0.75:
            types = [m for m in re.finditer(r"\b(f32|f16|bf16|i1|index)\b", text)]
            if types:
                m = rng.choice(types)
                new = rng.choice(["f32", "f16", "bf16", "f64", "i32", "i1", "index"])
                text = text[:m.start()] + new + text[m.end():]
        elif kind < 0.9:
            attrs = [m for m in re.finditer(r"(causal|normalize|pack_gqa|[a-z_]+ = #attn\.[a-z_]+<[^>]*>),? ?", text)]
            if attrs:
                m = rng.choice(attrs)
                text = text[:m.start()] + text[m.end():]
        else:
            lines = text.splitlines()
            if len(lines) > 2:
                del lines[rng.randrange(1, len(lines) - 1)]
                text = "\n".join(lines)
    return text


def classify(r):
    """None when the run is acceptable, else why not."""
    err = r.stderr
    if r.returncode < 0:
        return f"killed by signal {-r.returncode}"
    for marker in CRASH_MARKERS:
        if marker in err:
            return f"crash marker '{marker}'"
    if r.returncode not in (0, 1):
        return f"exit code {r.returncode}"
    if r.returncode == 1 and "error:" not in err:
        return "failed without an error diagnostic"
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-opt", required=True)
    ap.add_argument("--seeds", required=True,
                    help="comma-separated .mlir files whose attn functions are mutated")
    ap.add_argument("--cases", type=int, default=120)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--targets", default="cpu,sm_80,sm_90a,gfx942")
    ap.add_argument("--keep")
    args = ap.parse_args()
    rng = random.Random(args.seed)
    targets = args.targets.split(",")
    seeds = seed_functions(args.seeds.split(","))
    if not seeds:
        sys.exit("fuzz: no attn functions in the seed files")
    bad = []
    outcomes = {"compiled": 0, "refused": 0}
    with tempfile.TemporaryDirectory() as tmp:
        for case in range(args.cases):
            target = rng.choice(targets)
            # sm_90a: a random kernel choice (the compile's tile and
            # producer-share trials, the fallbacks), options that clash
            # included.
            options = ""
            if target == "sm_90a" and rng.random() < 0.5:
                options = " " + " ".join(rng.sample(
                    ["overlap=1", "pingpong=1", "persistent=sm",
                     "persistent=3", "tma=0", "warp-specialize=0",
                     "exp2-ftz=0", "producer-registers=24",
                     "producer-registers=20"], rng.randint(1, 3)))
            compile_cmd = [args.attention_opt, "-",
                           f"--attn-compile=target={target}{options}",
                           f"--emit-dir={tmp}/out{case}"]
            if case % 2 == 0:
                spec = random_spec(rng)
                what = f"spec '{spec}'"
                gen = subprocess.run([args.attention_opt, f"--gen={spec}"],
                                     capture_output=True, text=True, timeout=120)
                runs = [gen]
                if gen.returncode == 0:
                    runs.append(subprocess.run(compile_cmd, input=gen.stdout,
                                               capture_output=True, text=True,
                                               timeout=300))
                source = spec
            else:
                source = mutate(rng, rng.choice(seeds))
                what = f"mutated IR (case {case})"
                runs = [subprocess.run(compile_cmd, input=source,
                                       capture_output=True, text=True,
                                       timeout=300)]
            problems = [p for p in map(classify, runs) if p]
            if problems:
                bad.append((case, target + options, what, problems[0],
                            runs[-1].stderr))
                if args.keep:
                    os.makedirs(args.keep, exist_ok=True)
                    with open(os.path.join(args.keep, f"case{case}.txt"), "w") as f:
                        f.write(f"target={target}{options}\n{source}\n")
            elif runs[-1].returncode == 0:
                outcomes["compiled"] += 1
            else:
                outcomes["refused"] += 1
    for case, target, what, why, err in bad:
        print(f"FAIL case {case} target={target}: {what}: {why}")
        print("  " + "\n  ".join(err.strip().splitlines()[:8]))
    print(f"fuzz (seed {args.seed}): {args.cases} cases, {outcomes['compiled']} "
          f"compiled, {outcomes['refused']} refused with a diagnostic, "
          f"{len(bad)} crashed or failed silently")
    sys.exit(1 if bad else 0)


if __name__ == "__main__":
    main()
