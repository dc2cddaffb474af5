#!/usr/bin/env python3
"""Sums Nsight Compute's per-instruction counters of one kernel (the CSV
of `ncu --import R.ncu-rep --page source --print-source sass --csv`, the
report captured with --section SourceCounters) into what the static SASS
cannot say: the instructions executed by opcode, how many of them are
mbarrier waits and their retry branches (time spent waiting for K / V
or for a free slot shows up as executed waits), and the instructions
with the most stall samples.

Usage: sass_counters.py SOURCE.csv [--top N]
"""
import argparse
import csv
import re
import sys


def number(text):
    text = (text or "").replace(",", "").strip()
    try:
        return float(text)
    except ValueError:
        return 0.0


def find(header, *parts, avoid=()):
    """The first column whose name holds every part (case-insensitive)
    and none of `avoid`."""
    for i, name in enumerate(header):
        low = name.lower()
        if all(p in low for p in parts) and not any(a in low for a in avoid):
            return i
    return None


def rows_of(path):
    """(source text, executed, stall samples, address) per instruction."""
    with open(path, newline="") as f:
        table = list(csv.reader(f))
    for h, header in enumerate(table):
        src = find(header, "source")
        exe = find(header, "instructions executed", avoid=("thread", "predicated"))
        if src is not None and exe is not None:
            break
    else:
        raise SystemExit(f"sass_counters: no Source / Instructions Executed "
                         f"columns in {path}")
    stall = find(header, "warp stall sampling", "all")
    addr = find(header, "address")
    out = []
    for row in table[h + 1:]:
        if len(row) <= max(src, exe):
            continue
        out.append((row[src].strip(), number(row[exe]),
                    number(row[stall]) if stall is not None else 0.0,
                    row[addr].strip() if addr is not None else ""))
    return out


def opcode(text):
    """SASS opcode without predicate and modifiers: `@!P0 BRA` -> BRA."""
    words = [w for w in text.split() if not w.startswith("@")]
    return re.split(r"[.\s]", words[0])[0] if words else "?"


def summary(rows, top):
    total = sum(e for _, e, _, _ in rows)
    samples = sum(s for _, _, s, _ in rows)
    by_op = {}
    for text, e, _, _ in rows:
        by_op[opcode(text)] = by_op.get(opcode(text), 0) + e
    waits = sum(e for t, e, _, _ in rows if "TRYWAIT" in t or "SYNCS.PHASECHK" in t)
    lines = [f"instructions executed (warp level): {total:.0f}",
             f"stall samples: {samples:.0f}",
             f"mbarrier waits executed (SYNCS.PHASECHK.*TRYWAIT): {waits:.0f} "
             f"({100 * waits / total if total else 0:.2f}%)",
             "", "executed by opcode:"]
    for op, e in sorted(by_op.items(), key=lambda kv: -kv[1])[:top]:
        lines.append(f"  {op:12} {e:14.0f}  {100 * e / total if total else 0:6.2f}%")
    lines += ["", f"most stall samples (address, samples, executed, SASS):"]
    for text, e, s, a in sorted(rows, key=lambda r: -r[2])[:top]:
        if s <= 0:
            break
        lines.append(f"  {a:8} {s:8.0f} {e:12.0f}  {text}")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("csv")
    ap.add_argument("--top", type=int, default=25)
    args = ap.parse_args()
    print(summary(rows_of(args.csv), args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())
