#!/usr/bin/env python3
"""The GPU check's report (bench/gpu_check.py --merge) from hand-made
records: what a run leaves when processes are killed part way (a hung
kernel, a lost CUDA context, a peer that outlasts its budget) must still
give one row per spec, keep the timings it had, and count the failures.
Runs anywhere: no GPU, no runtime library."""
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
HARNESS = os.path.join(HERE, "..", "..", "bench", "gpu_check.py")
SASS_COUNTERS = os.path.join(HERE, "..", "..", "bench", "sass_counters.py")

# Nsight Compute's source page as CSV (quoted, thousands separators), a
# few SASS lines of a kernel that waits on its mbarriers.
SOURCE_CSV = """\
"Address","Source","Warp Stall Sampling (All Samples)","Warp Stall Sampling (Not-issued Samples)","Instructions Executed","Thread Instructions Executed"
"7f10","HGMMA.64x128x16.F32.BF16 R24, gdesc[UR4], RZ, !UPT ;","120","100","1,024","32,768"
"7f20","SYNCS.PHASECHK.TRANS64.TRYWAIT P0, [UR8], R6 ;","500","480","4,096","131,072"
"7f30","@!P0 BRA `(.L_x_5) ;","10","5","4,000","128,000"
"7f40","FMUL R88, R88, R69 ;","30","20","65,536","2,097,152"
"""


def sass_counter_fails():
    """bench/sass_counters.py on SOURCE_CSV: totals, the waits' share, the
    opcode table and the stall ranking."""
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "s.csv")
        with open(path, "w") as f:
            f.write(SOURCE_CSV)
        p = subprocess.run([sys.executable, SASS_COUNTERS, path],
                           capture_output=True, text=True)
    out = p.stdout
    want = ["instructions executed (warp level): 74656",
            "mbarrier waits executed (SYNCS.PHASECHK.*TRYWAIT): 4096 (5.49%)",
            "  FMUL                  65536   87.78%",
            "  BRA                    4000    5.36%",
            "most stall samples (address, samples, executed, SASS):\n"
            "  7f20          500         4096  SYNCS.PHASECHK"]
    return ([] if p.returncode == 0 else [f"sass_counters exit {p.returncode}: {p.stderr}"]) + \
        [f"sass_counters: no {w!r} in {out!r}" for w in want if w not in out]

DENSE = "name=b1 batch=1 heads=16 seq=8192 dim=128 dtype=bf16"
CAUSAL = "name=b2 batch=1 heads=16 seq=8192 dim=128 dtype=bf16 mask=causal"
HUNG = "name=b3 batch=1 heads=16 seq=1024 dim=128 dtype=bf16"
LINEAR = "name=b4 kind=linear batch=1 heads=4 seq=4096 dim=64 dtype=bf16"
LINEAR2 = "name=b5 kind=linear batch=4 heads=16 seq=4096 dim=128 dtype=bf16"


def bench_row(spec, seconds, kind="bench"):
    return {"kind": kind, "spec": spec, "flops": 1e12, "seconds": seconds,
            "rel_err_vs_sdpa": {n: 0.001 for n in seconds
                                if n.startswith("attention-opt:")}}


def records():
    ok = {"kind": "check", "bundle": "check1", "target": "sm_90",
          "pass": True, "max_rel_err": 1e-3, "key": "check default sm_90 a"}
    hung = {"kind": "check", "bundle": "check2.json", "target": "sm_90a",
            "pass": False, "key": "check default sm_90a b",
            "error": "hung: the process was killed while it ran"}
    dense = {"attention-opt:sm_90": 2e-3, "attention-opt:sm_90a": 1e-3,
             "attention-opt": 1e-3, "sdpa-flash": 1.25e-3, "sdpa-cudnn": None,
             "attention-opt:sm_90a/kv160-pingpong": 0.9e-3}
    return [
        {"kind": "start", "key": ok["key"]}, ok,
        {"kind": "start", "key": hung["key"]}, hung,
        # Finished, then joined by its FlexAttention row (faster than SDPA).
        bench_row(DENSE, dense, "bench-partial"),
        bench_row(DENSE, dense),
        {"kind": "bench-flex", "spec": DENSE, "seconds": 0.8e-3},
        # Killed while timing its variants: the last partial row stays,
        # and the hang is noted on it.
        bench_row(CAUSAL, {"attention-opt": 1e-3, "sdpa-flash": 2e-3},
                  "bench-partial"),
        bench_row(CAUSAL, {"attention-opt": 1e-3, "sdpa-flash": 2e-3,
                           "attention-opt:sm_90a/tma": 0.9e-3},
                  "bench-partial"),
        {"kind": "bench", "spec": CAUSAL,
         "error": "hung: the process was killed while it ran"},
        # Hung before any timing: an error row that fails the run.
        {"kind": "bench", "spec": HUNG,
         "error": "hung: the process was killed while it ran"},
        # FlexAttention could not compile this one: SDPA stays the peer.
        {"kind": "bench-flex", "spec": CAUSAL, "seconds": None,
         "error": "compile failed"},
        {"kind": "bench-linear-partial", "spec": LINEAR,
         "seconds": {"attention-opt": 1e-3, "torch-chunked": 3e-3},
         "rel_err_vs_fp32": {"attention-opt": 1e-3}},
        {"kind": "set-error", "set": "bench-flex", "error": "out of time"},
        # A finished linear row with two variants, one of them wrong: the
        # right one is the best variant, the wrong one fails the run.
        {"kind": "bench-linear", "spec": LINEAR2,
         "seconds": {"attention-opt": 4e-3, "torch-chunked": 9e-3, "fla": 2e-3,
                     "attention-opt:lin-s4": 1.6e-3,
                     "attention-opt:lin-c32s2": 1e-3},
         "tflops": {"attention-opt": 10.0, "torch-chunked": 4.4, "fla": 20.0,
                    "attention-opt:lin-s4": 25.0,
                    "attention-opt:lin-c32s2": 40.0},
         "rel_err_vs_fp32": {"attention-opt": 3e-3,
                             "attention-opt:lin-s4": 3e-3,
                             "attention-opt:lin-c32s2": 0.5},
         "variant_shapes": {"attention-opt:lin-s4": "grid 16x16xB, tile 64x32x4x1"},
         "grid": ["4", "16", "B"], "tile": [64, 64, 4, 1],
         "ratio_to_best_peer": 0.5, "best_variant_ratio_to_best_peer": 1.25},
    ]


def main():
    with tempfile.TemporaryDirectory() as tmp:
        jsonl = os.path.join(tmp, "r.jsonl")
        with open(jsonl, "w") as f:
            for r in records():
                f.write(json.dumps(r) + "\n")
        out = os.path.join(tmp, "r")
        env = dict(os.environ, ATTN_COMMIT="abc1234")
        p = subprocess.run([sys.executable, HARNESS, "--merge", jsonl,
                            "--target", "sm_90,sm_90a", "--out", out],
                           env=env, capture_output=True, text=True)
        doc = json.load(open(out + ".json"))
        md = open(out + ".md").read()
    fails = []

    def expect(cond, what):
        if not cond:
            fails.append(what)

    # 1 failed check, 1 hung bench spec, 1 phase out of time, 1 wrong
    # linear variant.
    expect(p.returncode == 1, f"exit code {p.returncode}, want 1")
    expect("1 passed, 4 failed" in p.stdout, f"summary: {p.stdout!r}")
    expect(doc["commit"] == "abc1234", f"commit {doc['commit']}")
    rows = {r["spec"]: r for r in doc["bench"]}
    expect(len(doc["bench"]) == 3, f"{len(doc['bench'])} bench rows, want 3")
    d = rows.get(DENSE, {})
    expect(d.get("seconds", {}).get("flex") == 0.8e-3, "flex joined dense")
    expect(abs(d.get("ratio_to_best_peer", 0) - 0.8) < 1e-9,
           f"dense ratio {d.get('ratio_to_best_peer')}, want 0.8 (flex)")
    expect(not d.get("partial"), "dense row is final")
    c = rows.get(CAUSAL, {})
    expect(c.get("partial") is True, "causal row kept as partial")
    expect("attention-opt:sm_90a/tma" in c.get("seconds", {}),
           "causal row is the last partial")
    expect("hung" in str(c.get("errors", {}).get("run")), "hang noted")
    expect(c.get("errors", {}).get("flex") == "compile failed",
           "flex error noted")
    expect(abs(c.get("ratio_to_best_peer", 0) - 2.0) < 1e-9,
           f"causal ratio {c.get('ratio_to_best_peer')}, want 2.0 (SDPA)")
    expect("seconds" not in rows.get(HUNG, {"seconds": 1}), "hung row")
    expect(f"- bench `{HUNG}`: hung" in md, "hung spec listed in the md")
    lin = {r["spec"]: r for r in doc["bench_linear"]}
    expect(len(lin) == 2 and lin.get(LINEAR, {}).get("partial"),
           "linear partial row")
    expect("| lin-c32s2 40.00 (0.5; ?); lin-s4 25.00 (0.003; grid 16x16xB, "
           "tile 64x32x4x1) | 1.25 |" in md, "linear variants in the md")
    # The dense row names its fastest build (a variant, faster than the
    # default that sets the ratio); the causal one its fastest correct one.
    expect(" | 0.80 | 0.89 | sm_90a/kv160-pingpong |\n" in md,
           "dense row's best variant in the md")
    expect(" | 2.00 | 2.22 | sm_90a/tma |\n" in md,
           "causal row's best variant in the md")
    expect("(commit abc1234)" in md, "commit in the md title")
    expect("- FAIL check2.json on sm_90a" in md, "failed check listed")
    fails += sass_counter_fails()
    for f in fails:
        print("FAIL:", f)
    print(f"gpu_check_report: {len(fails)} failed")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
