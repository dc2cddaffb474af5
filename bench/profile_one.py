#!/usr/bin/env python3
"""Launches one bench bundle's kernel three times on random bf16 inputs
(the bench harness's), for a profiler to capture one warm launch:

  ncu --kernel-name NAME --launch-skip 1 --launch-count 1 \\
      python3 bench/profile_one.py MANIFEST RUNTIME_LIB TARGET
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import gpu_check  # noqa: E402


def main():
    import torch
    manifest, lib, target = sys.argv[1:4]
    inp = gpu_check.BenchInputs(gpu_check.Runtime(lib), manifest)
    ws = gpu_check.bench_workspace(inp.bundle, target, inp.B, inp.Sq, inp.Skv)
    for _ in range(3):
        inp.rt.launch(inp.bundle, target, inp.ptrs, inp.B, inp.Sq, inp.Skv,
                      inp.stream, workspace=ws)
    torch.cuda.synchronize()
    print(f"profile_one: {inp.man['name']} on {target}, "
          f"rel err vs SDPA {inp.rel_err_vs_sdpa():.3g}")


if __name__ == "__main__":
    main()
