#!/usr/bin/env python3
"""Kernels against the golden vectors (test/golden, computed independently of
this project): each case's inputs through attention-run --inputs, its outputs
compared with out.npy (lse.npy) by --expected at the dtype's tolerance, and
with the fp64 reference by --check.

- CPU target: every case in f32, f16 and bf16 (the inputs are exact in all).
- NVIDIA kernels on the nvemu emulator (sm_80, sm_90a): the softmax cases
  whose head dims are multiples of 4, the rule of both kernels, in f32 (the
  SIMT kernel) and in f16 / bf16 (mma.sync); the linear cases in every dtype (its kernel takes any
  head dims and any input type, bf16 on mma.sync tiles).
- AMD kernels on the emulator (gfx942, gfx90a): the linear cases (the same
  kernel in wave64, bf16 on MFMA tiles), and the softmax cases whose head dims are multiples of
  4 on the MFMA kernel (padded to 16 on chip) in f32 and bf16.
- The linear cases again with their sequence split in 3 segments of 4-row
  chunks (tile=4x16 schedule=split_kv:3: 7 to 10 rows are 2 or 3 chunks),
  on the CPU, sm_80 and gfx942.

Usage: golden.py --attention-run=PATH --golden=DIR [--no-emulation]
"""
import argparse
import os
import subprocess
import sys


def dims(spec):
    for part in spec.split():
        if part.startswith("dim="):
            values = [int(x) for x in part[4:].split(":")]
            return values[0], values[-1]
    return 64, 64


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-run", required=True)
    ap.add_argument("--golden", required=True)
    ap.add_argument("--no-emulation", action="store_true")
    args = ap.parse_args()
    runs = []
    cases = sorted(d for d in os.listdir(args.golden)
                   if os.path.isfile(os.path.join(args.golden, d, "spec.txt")))
    for case in cases:
        folder = os.path.join(args.golden, case)
        with open(os.path.join(folder, "spec.txt")) as f:
            spec = f.read().strip()
        for dtype in ("f32", "f16", "bf16"):
            runs.append((case, folder, f"{spec} dtype={dtype}", "cpu"))
        split = "tile=4x16 schedule=split_kv:3"
        if spec.startswith("kind=linear"):
            runs.append((case, folder, f"{spec} dtype=f32 {split}", "cpu"))
        dqk, dv = dims(spec)
        if args.no_emulation:
            continue
        if spec.startswith("kind=linear"):
            for target, dtype in (("sm_80", "f32"), ("sm_90a", "f16"),
                                  ("sm_80", "bf16"), ("gfx942", "f32"),
                                  ("gfx90a", "bf16")):
                runs.append((case, folder, f"{spec} dtype={dtype}", target))
            for target, dtype in (("sm_80", "f32"), ("gfx942", "bf16")):
                runs.append((case, folder, f"{spec} dtype={dtype} {split}",
                             target))
        elif dqk % 4 == 0 and dv % 4 == 0:
            for target, dtype in (("sm_80", "f32"), ("sm_90a", "f32"),
                                  ("gfx942", "f32"), ("gfx90a", "bf16"),
                                  ("sm_80", "bf16"), ("sm_90a", "f16")):
                runs.append((case, folder, f"{spec} dtype={dtype}", target))
    failed = 0
    for case, folder, spec, target in runs:
        cmd = [args.attention_run, f"--spec={spec}", f"--inputs={folder}",
               f"--expected={folder}", "--check", f"--target={target}"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode != 0:
            failed += 1
            print(f"FAIL: {case} ({spec}, --target={target})\n"
                  f"{r.stdout}{r.stderr}")
    print(f"golden: {len(runs) - failed} passed, {failed} failed "
          f"({len(cases)} cases)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
