#!/usr/bin/env python3
"""Resource check of the GPU backends over the prefill matrix: every f16 /
bf16 configuration of matrix.py (and with --f32 every f32 one, which NVIDIA
runs on its SIMT kernel) compiles through attention-opt
--attn-compile for each target (NVIDIA: PTX, then ptxas -v to cubin; AMD:
HSACO linked by lld) with 0 spill bytes, 0 scratch on AMD, within the
target's shared memory / LDS, and no wgmma pipeline info from ptxas (a
product it serialized or a warpgroup.wait it injected); prints one report line per kernel (registers
/ smem / spills) and a closing summary.

Usage: gpu_resources.py --attention-opt=PATH [--targets=sm_80,sm_90]
       [--options='overlap=1 pingpong=1'] [--shard=I/N] [--report=FILE]
       [--f32] [--family=softmax|stream-k|linear|pack-gqa|head-dims]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from matrix import (configs, head_dim_configs, kv_warp_configs,  # noqa: E402
                    linear_configs, pack_gqa_configs, stream_k_configs)

SMEM_LIMIT = {"sm_80": 163 * 1024, "sm_86": 99 * 1024, "sm_89": 99 * 1024,
              "sm_90": 227 * 1024, "sm_90a": 227 * 1024, "gfx90a": 64 * 1024, "gfx942": 64 * 1024}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-opt", required=True)
    ap.add_argument("--targets", default="sm_80,sm_90")
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--report", default="")
    ap.add_argument("--options", default="",
                    help="more --attn-compile options, e.g. 'overlap=1'")
    ap.add_argument("--f32", action="store_true",
                    help="also the f32 configurations (default dtype)")
    ap.add_argument("--family",
                    choices=["softmax", "stream-k", "linear", "pack-gqa",
                             "head-dims", "kv-warps"],
                    default="softmax",
                    help="stream-k: the schedule=stream_k:N configurations; "
                         "linear: the linear-attention ones; pack-gqa: the "
                         "packed-head ones; kv-warps: 16-bit tilings whose "
                         "warps split the KV tile")
    args = ap.parse_args()
    idx, count = map(int, args.shard.split("/"))
    family = {"softmax": configs, "stream-k": stream_k_configs,
              "linear": linear_configs,
              "pack-gqa": pack_gqa_configs,
              "head-dims": head_dim_configs,
              "kv-warps": kv_warp_configs}[args.family]
    cfgs = [c for c in family()
            if args.f32 or ("dtype=f32" not in c and "dtype=" in c)]
    mine = [c for i, c in enumerate(cfgs) if i % count == idx]
    passed = failed = 0
    lines = []
    for spec in mine:
        with tempfile.TemporaryDirectory() as d:
            gen = subprocess.run([args.attention_opt, f"--gen=name=k {spec}",
                                  "-o", f"{d}/k.mlir"],
                                 capture_output=True, text=True)
            comp = gen if gen.returncode else subprocess.run(
                [args.attention_opt, f"{d}/k.mlir",
                 f"--attn-compile=target={args.targets} {args.options}".strip(),
                 f"--emit-dir={d}"],
                capture_output=True, text=True)
            if comp.returncode != 0:
                failed += 1
                print(f"FAIL (compile): {spec}\n{comp.stderr[-2000:]}")
                continue
            manifest = json.load(open(f"{d}/k.json"))
            ok = True
            for k in manifest["kernels"]:
                if k["format"] not in ("cubin", "hsaco"):
                    continue
                smem = (k.get("dynamic_smem_bytes", 0)
                        + k.get("static_smem_bytes", 0))
                tile = "x".join(map(str, k.get("tile", [])))
                line = (f"{k['target']:6} regs={k['registers']:3} "
                        f"spill={k['spill_bytes']} smem={smem} "
                        f"kernel={k.get('kernel', '?')} tile={tile} :: {spec}")
                lines.append(line)
                scratch = k.get("scratch_bytes", 0)
                if (k["spill_bytes"] != 0 or smem > SMEM_LIMIT[k["target"]]
                        or (k["format"] == "hsaco" and scratch != 0)):
                    ok = False
                    print(f"FAIL (resources): {line}")
                # ptxas serialized products or injected a wait for them.
                for note in k.get("ptxas_wgmma_notes", []):
                    ok = False
                    print(f"FAIL (ptxas wgmma): {note} :: {line}")
            passed += ok
            failed += not ok
    if args.report:
        with open(args.report, "w") as f:
            f.write("\n".join(lines) + "\n")
    regs = [int(l.split("regs=")[1].split()[0]) for l in lines]
    if regs:
        print(f"kernels: {len(lines)}, registers min/max {min(regs)}/{max(regs)}")
    print(f"gpu resources shard {args.shard}: {passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
