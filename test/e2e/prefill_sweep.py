#!/usr/bin/env python3
"""The GPU check's prefill sweep (PREFILL_SWEEP in bench/gpu_check.sh) on
nvemu: each candidate's sm_90a kernel, built with its tile and options, runs
a ragged dense and (unless the entry is for dense specs only) a ragged
causal GQA problem at head dim 128 against the fp64 reference. The GPU
only times these kernels (checking their outputs against SDPA), so this
is where a candidate that computes the wrong thing, or that the compile
quietly replaced by another kernel (the label would then time something
else), is caught.

persistent=sm becomes persistent=2, so every CTA walks several output
tiles, with TMA loads landing when issued (ATTN_NVEMU_TMA=eager), as
ctest nvemu-persistent runs them.

Usage: prefill_sweep.py --attention-run=PATH [--gpu-check=bench/gpu_check.sh]
"""
import argparse
import os
import re
import subprocess
import sys

# (spec, whether a dense-only entry runs it)
SPECS = [
    ("heads=2 seq=300:530 dim=128 dtype=bf16 lse=1", True),
    ("heads=gqa:4:2 seq=530:300 dim=128 dtype=bf16 mask=causal", False),
]


def sweep(path):
    """(label, tile, options, specs) of each PREFILL_SWEEP entry."""
    text = open(path).read()
    m = re.search(r"^PREFILL_SWEEP=\((.*?)^\)", text, re.S | re.M)
    if not m:
        sys.exit(f"prefill_sweep: no PREFILL_SWEEP=( ... ) in {path}")
    entries = re.findall(r'"([^"|]+)\|([^"|]+)\|([^"|]*)\|(all|dense)"',
                         m.group(1))
    if not entries or len(entries) != m.group(1).count('"') // 2:
        sys.exit(f"prefill_sweep: PREFILL_SWEEP in {path} is empty or has "
                 "an entry not of the form label|tile|options|all or dense")
    return entries


def expected_kernel(tile, options):
    """What the manifest must name: the options' parts, and the tile."""
    parts = ["wgmma", "tma", "producer"]
    for option, part in (("overlap=1", "overlap"), ("pingpong=1", "pingpong"),
                         ("persistent=", "persistent")):
        if option in options:
            parts.append(part)
    q_kv = re.match(r"(\d+x\d+)", tile).group(1)
    warps = re.search(r"warps=(\d+)", tile).group(1)
    stages = re.search(r"stages=(\d+)", tile).group(1)
    return "+".join(parts), f"tile={q_kv}x{warps}x{stages}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-run", required=True)
    ap.add_argument("--gpu-check", default=os.path.join(
        os.path.dirname(__file__), "..", "..", "bench", "gpu_check.sh"))
    args = ap.parse_args()
    failed = 0
    env = dict(os.environ, ATTN_NVEMU_TMA="eager")
    for label, tile, options, specs in sweep(args.gpu_check):
        kernel, tile_text = expected_kernel(tile, options)
        options = options.replace("persistent=sm", "persistent=2")
        for spec, dense in SPECS:
            if specs == "dense" and not dense:
                continue
            cmd = [args.attention_run, f"--spec={spec} tile={tile}",
                   "--target=sm_90a", f"--kernel-options={options}", "--check"]
            r = subprocess.run(cmd, capture_output=True, text=True, env=env,
                               timeout=600)
            out = r.stdout + r.stderr
            why = None
            if r.returncode != 0:
                why = f"exit {r.returncode}"
            elif f"kernel={kernel} " not in out or tile_text not in out:
                why = f"not the kernel {kernel} {tile_text}"
            elif "note:" in out:
                why = "a compile note (a fallback?)"
            elif out.count("PASS") < (2 if "lse=1" in spec else 1):
                why = "no PASS"
            status = "FAIL" if why else "PASS"
            print(f"{status} {label}: {spec}" + (f": {why}" if why else ""),
                  flush=True)
            if why:
                failed += 1
                print("  " + " ".join(cmd) + "\n  " +
                      out.strip().replace("\n", "\n  "), flush=True)
    print(f"prefill sweep: {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
