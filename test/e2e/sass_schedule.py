#!/usr/bin/env python3
"""SASS schedule check of the overlapped sm_90a kernels: where ptxas puts
the wait for the P V product and the wait for V.

The overlapped kernel issues a tile's S = Q K^T and the previous tile's
P V as two wgmma groups, waits for S (wait_group 1), runs the softmax and
only then waits for P V (wait_group 0), so the exponentials run while P V
occupies the tensor cores. ptxas may move a wait earlier (that is always
legal) and, treating it as free, did so into the first MUFU stall, which
kept the PTX correct and the overlap gone. This disassembles the cubin
(nvdisasm) and checks, for each WARPGROUP.DEPBAR.LE gsb0, 0x1, that the
next 0x0 wait comes after at least one exponential per S element of a
thread (block_kv / 2: a warpgroup's 64 rows x block_kv columns over 128
threads). It also checks that the wait for the previous tile's V sits
between the S group and the P V group (FlashAttention-3's order: a late
V holds back P V, not S), and that ptxas said nothing of the kernel's
wgmma pipeline (the manifest's ptxas_wgmma_notes: products it serialized
or a warpgroup.wait it injected). For the ping-pong kernel without the
overlap it checks the turns instead: each S group is followed by the
hand-over (BAR.ARV) before its wait, and each P V group preceded by the
bar.sync that takes the turn back. Besides its own cases, it checks every
overlapped or ping-pong candidate of the GPU check's prefill sweep
(PREFILL_SWEEP in bench/gpu_check.sh).

Usage: sass_schedule.py --attention-opt=PATH --nvdisasm=PATH
       [--gpu-check=bench/gpu_check.sh]
Exit 77 (skipped) when nvdisasm is missing.
"""
import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

from prefill_sweep import sweep  # test/e2e/prefill_sweep.py, beside this script

# (spec, --attn-compile options): the dense hd128 shape GPU-check times,
# at the cost model's tile and at FlashAttention-3's 176 columns, with and
# without ping-pong; a causal and a head-dim-64 one for the partial-tile
# branch and the other tile width.
CASES = [
    ("batch=2 heads=16 seq=8192 dim=128 dtype=bf16", "overlap=1"),
    ("batch=2 heads=16 seq=8192 dim=128 dtype=bf16", "overlap=1 pingpong=1"),
    ("batch=2 heads=16 seq=8192 dim=128 dtype=bf16 tile=128x176 warps=8 "
     "stages=2", "overlap=1"),
    ("batch=2 heads=16 seq=8192 dim=128 dtype=bf16 tile=128x176 warps=8 "
     "stages=2", "overlap=1 pingpong=1"),
    ("batch=2 heads=16 seq=2048 dim=128 dtype=bf16 mask=causal",
     "overlap=1 pingpong=1"),
    ("batch=2 heads=16 seq=2048 dim=64 dtype=f16", "overlap=1"),
    ("batch=2 heads=16 seq=2048 dim=128 dtype=bf16",
     "persistent=sm overlap=1 pingpong=1"),
    # Ping-pong without the overlap: its turns (turns()).
    ("batch=2 heads=16 seq=8192 dim=128 dtype=bf16", "pingpong=1"),
    ("batch=2 heads=16 seq=2048 dim=128 dtype=bf16 mask=causal",
     "pingpong=1"),
]


def sweep_cases(gpu_check):
    """The overlapped entries of the GPU check's prefill sweep
    (PREFILL_SWEEP in bench/gpu_check.sh) at the dense 8k shape it times,
    and causal where it times them on every spec: a candidate whose wait
    ptxas hoisted would time a kernel with nothing overlapped."""
    cases = []
    for _, tile, options, specs in sweep(gpu_check):
        if "overlap=1" not in options and "pingpong=1" not in options:
            continue
        dense = f"batch=2 heads=16 seq=8192 dim=128 dtype=bf16 tile={tile}"
        cases.append((dense, options))
        if specs == "all":
            cases.append((dense + " mask=causal", options))
    return cases


WAIT = re.compile(r"WARPGROUP\.DEPBAR\.LE gsb0, 0x([0-9a-f]+)")


def overlap_windows(sass):
    """Exponentials between each wait_group 1 and the next wait_group 0."""
    counts, open_count = [], None
    for line in sass.splitlines():
        m = WAIT.search(line)
        if m:
            if int(m.group(1), 16) == 1:
                open_count = 0
            elif open_count is not None:
                counts.append(open_count)
                open_count = None
        elif open_count is not None and "MUFU.EX2" in line:
            open_count += 1
    return counts


S_HGMMA = re.compile(r"HGMMA\.\S+ R\d+, gdesc")
PV_HGMMA = re.compile(r"HGMMA\.\S+ R\d+, R\d+, gdesc")


def v_waits_under_s(sass):
    """For each S group issued right before a P V group (a tile with a
    pending product): whether the wait for V's mbarrier sits between the
    two, so a late V holds back P V but not S (FlashAttention-3's order)."""
    found, s_open, waited = [], False, False
    for line in sass.splitlines():
        if S_HGMMA.search(line) and "gsb0" in line:
            s_open, waited = True, False
        elif not s_open:
            continue
        elif "TRYWAIT" in line:
            waited = True
        elif PV_HGMMA.search(line):
            found.append(waited)
            s_open = False
        elif "DEPBAR" in line:
            s_open = False
    return found


BAR_SYNC_256 = re.compile(r"BAR\.SYNC\S* R\d+, 0x100")


def turns(sass):
    """Ping-pong without the overlap: for each S group, whether the turn
    goes to the next warpgroup (bar.arrive) before the wait for S, so its
    products run under this softmax; for each P V group, whether this
    warpgroup took its turn (bar.sync of 256 threads) since S was
    issued."""
    passed, taken = [], []
    s_open = synced = in_pv = False
    for line in sass.splitlines():
        if S_HGMMA.search(line):
            in_pv = False
            s_open = s_open or "gsb0" in line
        elif s_open and ("BAR.ARV" in line or "DEPBAR" in line):
            passed.append("BAR.ARV" in line)
            s_open = synced = False
        elif BAR_SYNC_256.search(line):
            synced = True
        elif PV_HGMMA.search(line) and not in_pv:
            taken.append(synced)
            in_pv, synced = True, False
    return passed, taken


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-opt", required=True)
    ap.add_argument("--nvdisasm", default="")
    ap.add_argument("--gpu-check", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench",
        "gpu_check.sh"))
    args = ap.parse_args()
    if not args.nvdisasm or not os.access(args.nvdisasm, os.X_OK):
        print("sass_schedule: SKIPPED, no nvdisasm (scripts/install-deps.sh "
              "fetches it from PyPI into .tools/)")
        return 77
    failed = 0
    cases = CASES + sweep_cases(args.gpu_check)
    for spec, options in cases:
        with tempfile.TemporaryDirectory() as d:
            mlir = os.path.join(d, "k.mlir")
            subprocess.run([args.attention_opt, f"--gen=name=k {spec}",
                            "-o", mlir], check=True)
            subprocess.run([args.attention_opt, mlir,
                            f"--attn-compile=target=sm_90a {options}",
                            f"--emit-dir={d}"], check=True,
                           stdout=subprocess.DEVNULL)
            with open(os.path.join(d, "k.json")) as f:
                kernel = json.load(f)["kernels"][0]
            name, tile = kernel["kernel"], kernel["tile"]
            notes = kernel.get("ptxas_wgmma_notes", [])
            cubin = os.path.join(d, "k.sm_90a.cubin")
            sass = subprocess.run([args.nvdisasm, "-c", cubin], check=True,
                                  capture_output=True, text=True).stdout
        if "overlap=1" not in options:
            passed, taken = turns(sass)
            ok = ("pingpong" in name and passed and all(passed) and taken
                  and all(taken) and not notes)
            failed += not ok
            print(f"{'PASS' if ok else 'FAIL'}: {spec} [{options}] {name} "
                  f"tile={'x'.join(map(str, tile))}: turn passed before "
                  f"the wait for S = {passed}, taken before P V = {taken} "
                  f"(need all); ptxas wgmma infos = {notes or 'none'}")
            continue
        need = tile[1] // 2
        counts = overlap_windows(sass)
        v_waits = v_waits_under_s(sass)
        ok = ("overlap" in name and counts and min(counts) >= need
              and v_waits and all(v_waits) and not notes)
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'}: {spec} [{options}] {name} "
              f"tile={'x'.join(map(str, tile))}: exponentials between "
              f"wait_group 1 and 0 = {counts} (need >= {need} each); "
              f"V waited for between S and P V = {v_waits} (need all); "
              f"ptxas wgmma infos = {notes or 'none'}")
    print(f"sass_schedule: {len(cases) - failed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
