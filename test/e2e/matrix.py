#!/usr/bin/env python3
"""e2e numerics matrix: every configuration is compiled for the CPU target by
attention-run, run on deterministic inputs and compared with the fp64
reference (attention-run --check exits non-zero on a mismatch or a NaN).
With --target=sm_80 (sm_90, sm_90a) the NVIDIA kernels run instead, on the
nvemu emulator (attention-run's NVIDIA targets); a comma-separated list
takes the targets in turn (configuration i runs on target i mod n), which
covers every configuration once at a third of the time of all three. AMD
targets (gfx90a, gfx942) run the AMD kernels on the same emulator in wave64
mode.

--family=linear runs the linear-attention configurations instead,
--family=stream-k softmax configurations with schedule=stream_k:N or
split_kv:N, and
--family=pack-gqa configurations whose query heads are packed into shared
tiles (pack_gqa=1), --family=head-dims head dims that are multiples of 4
but not of 16, --family=kv-warps 16-bit tilings whose warps (waves) split
each KV tile (the mma.sync and MFMA kernels' KV warps / waves).

Usage: matrix.py --attention-run=PATH [--shard=I/N] [--list]
                 [--target=T[,T...]] [--kernel-options="..."]
                 [--family=softmax|linear|stream-k|pack-gqa|head-dims|kv-warps]
"""
import argparse
import itertools
import subprocess
import sys

GROUPINGS = ["heads=2", "heads=gqa:4:2", "heads=mqa:4", "heads=sqa:8",
             "heads=ssqa:4", "heads=xsqa:8", "heads=4:2:1"]
MASKS = ["", "mask=causal", "mask=causal-topleft", "mask=window:16",
         "mask=window:8:4", "mask=sink:2+window:8", "mask=causal+document",
         "BLOCKS", "mask=perhead[causal;sink:2+window:8]", "mask=blockmask:16x16"]
MODS = ["", "score=softcap:20", "score=alibi", "norm=sigmoid:-1", "gate=1",
        "gate=head", "lse=1", "score=bias", "score=alibi+softcap:30 lse=1"]
DIMS = ["32", "64", "80", "96", "128", "256", "64:32", "32:80"]
# (Sq, Skv): self and cross, tile multiples and not, decode, Sq > Skv.
LENGTHS = [(1, 1), (7, 7), (63, 63), (64, 64), (200, 200), (7, 63),
           (63, 200), (200, 63), (1, 200), (33, 1)]
DTYPES = ["f32", "f16", "bf16"]


def block_layout(sq, skv, b=16):
    rows = -(-sq // b)
    cols = -(-skv // b)
    return "/".join("".join("0" if (r + c) % 3 == 1 else "1" for c in range(cols))
                    for r in range(rows))


def mask_of(m, sq, skv):
    """The spec's mask for MASKS entry m: BLOCKS becomes a 16 x 16 block
    layout over (sq, skv)."""
    if m == "BLOCKS":
        return "mask=blocks:16x16:" + block_layout(sq, skv)
    return m


def configs():
    out = []
    for rnd in range(5):
        for gi, (g, m) in enumerate(itertools.product(GROUPINGS, MASKS)):
            k = gi + rnd * 7
            sq, skv = LENGTHS[k % len(LENGTHS)]
            dim = DIMS[(k // 3 + rnd) % len(DIMS)]
            dtype = DTYPES[(k + rnd) % len(DTYPES)]
            mod = MODS[(k // 2 + rnd) % len(MODS)]
            if dim.split(":")[0] in ("256",) and sq * skv > 4096:
                sq, skv = 63, 63
            mask = mask_of(m, sq, skv)
            if "sigmoid" in mod and "lse" in mod:
                mod = "norm=sigmoid"
            out.append(" ".join(x for x in [g, f"seq={sq}:{skv}",
                                            f"dim={dim}", f"dtype={dtype}",
                                            mask, mod] if x))
    # Long sequences (1000+) and edge cases.
    out += [
        "heads=2 seq=1030 dim=64 mask=causal dtype=bf16",
        "heads=gqa:4:2 seq=1030:1100 dim=32 mask=sink:4+window:128 lse=1",
        "heads=2 seq=1:1030 dim=64 dtype=f32 score=alibi",
        # Fully masked rows (Sq > Skv, bottom-right causal): zeros, no NaN.
        "heads=2 seq=40:8 dim=32 mask=causal lse=1",
        "heads=2 seq=40:8 dim=32 mask=causal lse=1 dtype=bf16",
        # Logits of +-1e4: the online softmax must stay finite.
        "heads=2 seq=64 dim=64 scale=20000 lse=1",
        "heads=2 seq=64 dim=64 scale=-20000 mask=causal",
        "heads=2 seq=64 dim=64 scale=20000 dtype=f16 mask=window:4",
        # Many work items with 128-wide tiles (per-work-item scratch must not
        # accumulate on the stack).
        "heads=16 seq=1024 dim=128 mask=causal",
        # Skv = 1.
        "heads=4:2 seq=16:1 dim=32",
        "heads=4:2 seq=16:1 dim=32 mask=causal lse=1",
        # Window reaching past both ends; sink larger than the sequence.
        "heads=2 seq=20 dim=16 mask=window:100:100",
        "heads=2 seq=20 dim=16 mask=sink:64+window:2",
        # ALiBi rows far outside the keys (before them, bottom-right with
        # Sq > Skv; after them, top-left): every score carries
        # -slope * distance (up to -2000), which f32 resolves to 1e-4
        # unless the kernel takes it out of the row (alibiRowShift).
        "heads=8:2 seq=4000:14 dim=32 dtype=f32 score=alibi lse=1",
        "heads=8 seq=3000:40 dim=32 dtype=f32 score=alibi "
        "mask=causal-topleft lse=1",
        # A static block layout intersected with the runtime block mask.
        "batch=2 heads=4:2 seq=130:200 dim=64 dtype=f16 lse=1 "
        "mask=causal+blockmask:16x32+blocks:16x32:1101101/1011011/0110111/"
        "1111111/1010101/0101010/1111110/0111111/1101111",
    ]
    return out


LINEAR_FEATURES = ["identity", "elu1", "relu", "taylor2"]
LINEAR_DECAYS = ["", "decay=0.9", "decay=0.999", "decay=alibi"]
LINEAR_STATES = ["", "state=in", "state=out", "state=inout"]
LINEAR_DIMS = ["16", "32", "64", "128", "64:32", "32:80"]
# Chunks are 32 or 64 rows on the CPU: below, at and across chunk edges.
LINEAR_LENGTHS = [1, 7, 31, 32, 33, 64, 65, 200]
LINEAR_HEADS = ["batch=1 heads=1", "batch=2 heads=2", "batch=1 heads=5"]


def linear_configs():
    """attn.linear_attention (kind=linear): causal (every decay and state
    mode) and non-causal, with and without norm=sum. norm=sum is left out
    with the identity feature map, whose denominators change sign: the
    quotient is ill-conditioned and no tolerance is meaningful there."""
    out = []
    i = ci = 0
    for rnd in range(3):
        for feat in LINEAR_FEATURES:
            for causal in (True, False):
                for norm in ("", "norm=sum"):
                    if feat == "identity" and norm:
                        continue
                    dim = LINEAR_DIMS[(i + rnd) % len(LINEAR_DIMS)]
                    if feat == "taylor2":  # F = 1 + Dk + Dk^2
                        dim = ["4", "8", "16:32"][i % 3]
                    parts = ["kind=linear", LINEAR_HEADS[i % len(LINEAR_HEADS)],
                             f"seq={LINEAR_LENGTHS[(i * 3 + rnd) % len(LINEAR_LENGTHS)]}",
                             f"dim={dim}", f"dtype={DTYPES[(i + rnd) % 3]}",
                             f"feature={feat}",
                             "mask=causal" if causal else "mask=none", norm]
                    if causal:
                        parts += [LINEAR_DECAYS[ci % len(LINEAR_DECAYS)],
                                  LINEAR_STATES[(ci // 4 + ci) % len(LINEAR_STATES)]]
                        ci += 1
                    if i % 5 == 2:
                        parts.append("scale=0.5")
                    out.append(" ".join(x for x in parts if x))
                    i += 1
    out += [
        # Long sequences: many chunks, the state carried across all of them.
        "kind=linear heads=2 seq=1030 dim=64 mask=causal feature=elu1 "
        "decay=alibi norm=sum state=inout dtype=bf16",
        "kind=linear heads=2 seq=1030 dim=64 mask=causal feature=identity "
        "decay=0.999 state=out",
        "kind=linear heads=2 seq=1030 dim=32 mask=none feature=relu norm=sum",
        # relu zeroes whole rows: a zero normalizer gives 0, not NaN.
        "kind=linear heads=2 seq=40 dim=4 mask=causal feature=relu norm=sum",
        # Enough (batch, head) blocks for whole 64-column chunks on the GPU
        # (fewer narrow them), the last one ragged.
        "kind=linear batch=2 heads=70 seq=40 dim=8:96 mask=causal "
        "feature=elu1 norm=sum decay=0.95 state=inout dtype=bf16",
        # The long causal cases above split their sequence on the GPU
        # (few blocks); one walks it whole.
        "kind=linear heads=2 seq=1030 dim=64 mask=causal feature=elu1 "
        "decay=alibi norm=sum state=inout dtype=bf16 schedule=flash",
        # split_kv: segments seeded by the state handed on, in every
        # product form; more segments than chunks (empty ones hand on what
        # they got); several batch entries.
        "kind=linear batch=2 heads=3 seq=257 dim=32:80 mask=causal "
        "feature=elu1 norm=sum state=out schedule=split_kv:4",
        "kind=linear heads=2 seq=40 dim=16 mask=causal feature=relu "
        "decay=0.9 state=inout dtype=bf16 schedule=split_kv:5",
        "kind=linear heads=2 seq=300 dim=32 mask=causal feature=identity "
        "decay=0.999 state=in dtype=f16 schedule=split_kv:3",
        "kind=linear heads=1 seq=200 dim=8 mask=causal feature=taylor2 "
        "norm=sum decay=alibi dtype=bf16 schedule=split_kv:2",
        # Non-causal: every segment sums all states (the ones not taken
        # yet by a block or work item summed where they are needed).
        "kind=linear batch=2 heads=3 seq=300 dim=32:80 mask=none "
        "feature=elu1 norm=sum schedule=split_kv:4",
        "kind=linear heads=2 seq=40 dim=16 mask=none feature=relu "
        "dtype=bf16 schedule=split_kv:5",
        "kind=linear heads=1 seq=200 dim=8 mask=none feature=taylor2 "
        "norm=sum dtype=f16 schedule=split_kv:3",
    ]
    return out


STREAM_K_CTAS = [1, 2, 3, 7, 16, 132]
# (Sq, Skv, splits) of split_kv:N.
SPLIT_KV = [(1, 200, 2), (3, 1030, 5), (1, 1030, 8), (33, 300, 3),
            (1, 520, 1), (64, 256, 2), (1, 2100, 16), (7, 400, 3)]
STREAM_K_LENGTHS = [(1, 1), (1, 200), (3, 1030), (7, 63), (33, 300),
                    (64, 64), (40, 8)]


def stream_k_configs():
    """schedule=stream_k:N and split_kv:N: the masks and score mods of the main
    matrix over decode and short-prefill lengths, with N below, near and
    far above the number of (output tile x KV tile) units, so shares start
    and end inside tiles, whole tiles are skipped over, and some workers
    get nothing."""
    out = []
    for i, m in enumerate(MASKS):
        for rnd in range(4):
            k = i * 4 + rnd
            sq, skv = STREAM_K_LENGTHS[k % len(STREAM_K_LENGTHS)]
            mask = mask_of(m, sq, skv)
            mod = MODS[(k * 5) % len(MODS)]
            out.append(" ".join(x for x in [
                GROUPINGS[k % len(GROUPINGS)], f"seq={sq}:{skv}",
                f"dim={DIMS[k % len(DIMS)]}", f"dtype={DTYPES[k % 3]}", mask,
                mod, f"schedule=stream_k:{STREAM_K_CTAS[k % len(STREAM_K_CTAS)]}"]
                if x))
        # split_kv:N on the same protocol: N workers per output tile, one
        # contiguous split each. N never exceeds the KV tiles (the verifier
        # refuses it) at any block_kv up to 128; masks whose live range is
        # narrower (windows, top-left causal decode) leave splits empty.
        for rnd in range(2):
            k = i * 2 + rnd
            sq, skv, n = SPLIT_KV[k % len(SPLIT_KV)]
            mask = mask_of(m, sq, skv)
            out.append(" ".join(x for x in [
                GROUPINGS[(k + 2) % len(GROUPINGS)], f"seq={sq}:{skv}",
                f"dim={DIMS[(k + 1) % len(DIMS)]}",
                f"dtype={DTYPES[(k + 1) % 3]}", mask,
                MODS[(k * 2 + 1) % len(MODS)],
                f"schedule=split_kv:{n}"] if x))
    return out


PACK_GROUPINGS = ["heads=gqa:4:2", "heads=mqa:4", "heads=4:2:1",
                  "heads=gqa:16:2", "batch=2 heads=gqa:6:2"]
PACK_MASKS = ["", "mask=causal", "mask=causal-topleft", "mask=window:16",
              "mask=window:8:4", "mask=sink:2+window:8",
              "mask=causal+document"]
# Decode, a few queries per head (a packed tile holds every head's rows),
# and prefill whose packed rows run across tiles and query rows across
# packed tiles.
PACK_LENGTHS = [(1, 1), (1, 200), (1, 1030), (3, 300), (7, 63), (40, 8),
                (33, 100), (200, 200)]


def pack_gqa_configs():
    """pack_gqa=1 (the CPU tile program, the NVIDIA mma.sync and SIMT
    kernels, the AMD MFMA kernel): the query heads of a K/V head share
    tiles, packed row r being row r / G of head r % G.
    Every mask a whole group can share, the score mods that read the head
    (ALiBi slopes, bias, gates, LSE), flash and stream-K."""
    out = []
    for i, m in enumerate(PACK_MASKS):
        for rnd in range(4):
            k = i * 4 + rnd
            sq, skv = PACK_LENGTHS[k % len(PACK_LENGTHS)]
            sched = "schedule=stream_k:7" if k % 5 == 3 else ""
            out.append(" ".join(x for x in [
                PACK_GROUPINGS[k % len(PACK_GROUPINGS)], f"seq={sq}:{skv}",
                f"dim={DIMS[k % len(DIMS)]}", f"dtype={DTYPES[k % 3]}", m,
                MODS[(k * 5) % len(MODS)], sched, "pack_gqa=1"] if x))
    return out


ODD_DIMS = ["8", "24", "40", "72", "104", "136", "72:40", "24:56",
            "20", "36", "52:44", "12:132"]


def head_dim_configs():
    """Head dims that are multiples of 4 or 8 but not of 16 (SigLIP's 72
    among them): the GPU tensor-core kernels pad them to 16 on chip (zeroed
    K / V padding, zero Q fragment parts, O columns past Dv never stored;
    NVIDIA moves rows of 8 k + 4 by 8-byte copies). Every
    mask kind, a score mod each, decode to prefill lengths, every dtype,
    flash and stream-K."""
    out = []
    for i, m in enumerate(MASKS):
        for rnd in range(2):
            k = i * 2 + rnd
            sq, skv = LENGTHS[(k * 3) % len(LENGTHS)]
            mask = mask_of(m, sq, skv)
            sched = "schedule=stream_k:5" if k % 4 == 1 else ""
            out.append(" ".join(x for x in [
                GROUPINGS[k % len(GROUPINGS)], f"seq={sq}:{skv}",
                f"dim={ODD_DIMS[k % len(ODD_DIMS)]}",
                f"dtype={DTYPES[k % 3]}", mask, MODS[(k * 7) % len(MODS)],
                sched] if x))
    return out


# Tilings with warps past block_q / 16 (the 16-row blocks): r row blocks
# x n KV warps (AMD: waves), KV slices of 16 to 32 columns.
KV_WARP_TILINGS = [(16, 64, 4, 2), (16, 128, 8, 1), (32, 64, 4, 1),
                   (16, 32, 2, 2), (64, 32, 8, 1), (16, 64, 2, 1),
                   (16, 128, 4, 1)]
KV_WARP_LENGTHS = [(1, 1), (1, 200), (1, 1030), (3, 300), (20, 100),
                   (40, 70), (2, 17)]
LDS_BYTES = 64 * 1024


def kv_warp_tiling_fits(dim, tiling):
    """Whether a 16-bit tiling fits 64 KiB on both vendors: the schedule's
    K / V stage estimate, and the AMD kernel's K, V^T and merge slots
    (amdgpuLdsBytes)."""
    dqk, dv = (int(x) for x in (dim.split(":") * 2)[:2])
    bq, bk, warps, stages = tiling
    if stages * bk * (2 * (dqk + dv) + 32) > LDS_BYTES:
        return False
    dqkp, dvp = -(-dqk // 16) * 16, -(-dv // 16) * 16
    vpad = 4 if 8 * dvp <= 32 * bk else 0
    kv = warps // (bq // 16)
    merge = (bq // 16) * (kv // 2) * 64 * 4 * (2 + dvp // 4)
    return 2 * (bk * dqkp + dvp * (bk + vpad)) + merge <= LDS_BYTES


def kv_warp_configs():
    """16-bit tilings with KV warps (NVIDIA) / KV waves (AMD): each row
    block's warps split every KV tile's columns and merge their states
    after the KV loop (the CPU runs the same tiles without warps). Every
    mask kind and score mod, decode to short prefill, ragged KV tiles, head
    dims with zeroed padding (which the NVIDIA merge overwrites), one and
    two stages, flash, stream-K and split_kv, packed heads. A tiling that
    does not fit a head dim takes 16 x 32 on 2 warps, one stage."""
    out = []
    dims = DIMS + ["72", "40:24"]
    for i, m in enumerate(MASKS):
        for rnd in range(3):
            k = i * 3 + rnd
            sq, skv = KV_WARP_LENGTHS[k % len(KV_WARP_LENGTHS)]
            mask = mask_of(m, sq, skv)
            sched = ["", "schedule=stream_k:5", "schedule=split_kv:2"][k % 3]
            if sched == "schedule=split_kv:2" and skv < 256:
                sched = ""
            dim = dims[k % len(dims)]
            tiling = KV_WARP_TILINGS[k % len(KV_WARP_TILINGS)]
            if not kv_warp_tiling_fits(dim, tiling):
                tiling = (16, 32, 2, 1)
            out.append(" ".join(x for x in [
                GROUPINGS[k % len(GROUPINGS)], f"seq={sq}:{skv}",
                f"dim={dim}", f"dtype={DTYPES[1 + k % 2]}",
                mask, MODS[(k * 5) % len(MODS)], sched,
                "tile={}x{} warps={} stages={}".format(*tiling)] if x))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--attention-run", required=True)
    ap.add_argument("--shard", default="0/1")
    ap.add_argument("--list", action="store_true")
    ap.add_argument("--target", default="cpu")
    ap.add_argument("--kernel-options", default="")
    ap.add_argument("--family",
                    choices=["softmax", "linear", "stream-k", "pack-gqa",
                             "head-dims", "kv-warps"],
                    default="softmax")
    args = ap.parse_args()
    idx, count = map(int, args.shard.split("/"))
    all_cfgs = {"softmax": configs, "linear": linear_configs,
                "stream-k": stream_k_configs,
                "pack-gqa": pack_gqa_configs,
                "head-dims": head_dim_configs,
                "kv-warps": kv_warp_configs}[args.family]()
    targets = args.target.split(",")
    mine = [(c, targets[i % len(targets)])
            for i, c in enumerate(all_cfgs) if i % count == idx]
    if args.list:
        print("\n".join(all_cfgs))
        print(f"{len(all_cfgs)} configurations", file=sys.stderr)
        return 0
    passed = failed = 0
    for i, (spec, target) in enumerate(mine):
        cmd = [args.attention_run, f"--spec={spec}", "--check",
               "--seed", str(i + 1), f"--target={target}"]
        if args.kernel_options:
            cmd.append(f"--kernel-options={args.kernel_options}")
        r = subprocess.run(cmd, capture_output=True, text=True)
        if r.returncode == 0:
            passed += 1
        else:
            failed += 1
            print(f"FAIL: {spec} (--target={target} --seed={i + 1})\n"
                  f"{r.stdout}{r.stderr}")
    print(f"e2e shard {args.shard} ({args.target}): {passed} passed, "
          f"{failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
