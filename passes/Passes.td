//===- Passes.td - attn passes -----------------------------*- tablegen -*-===//

#ifndef ATTN_PASSES_TD
#define ATTN_PASSES_TD

include "mlir/Pass/PassBase.td"

def AttnSelectSchedule : Pass<"attn-select-schedule"> {
  let summary = "Pick kernel family, tile sizes, warps and stages per target";
  let description = [{
    Fills the `tiling` and `schedule` attributes of every attn op that lacks
    them, from the target description (SM count, shared memory, registers)
    and the cost model of docs/ARCHITECTURE.md. A user-given tiling is kept and
    checked against the target (a tile that cannot fit is an error).
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Target: cpu, sm_80, sm_86, sm_89, sm_90, gfx90a or gfx942">,
  ];
}

def AttnReport : Pass<"attn-report"> {
  let summary = "Print tile counts, executed FLOPs and bytes of each attn op";
  let description = [{
    For every attn.attention with static shapes: total / full / partial /
    empty (q-tile, kv-tile) pairs from the mask analysis, the FLOPs of the
    tiles that run and the bytes moved, under the op's tiling (or the target
    default). Writes to stdout, or to `output` when given.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Target whose default tiling applies to ops without one">,
  ];
}

#endif // ATTN_PASSES_TD
