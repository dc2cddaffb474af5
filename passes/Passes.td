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
    checked against the target (a tile that cannot fit is an error). On
    every target an attn.attention without `pack_gqa` gets `pack_gqa =
    true` when its query heads share K/V heads, Sq is below the query tile
    and every head has the same mask (NVIDIA kernels then run on mma.sync
    tiles, sm_90a included). On GPU targets a decode whose query tiles
    leave compute units idle, with at least two KV tiles per unit, gets
    `stream_k(SMs / CUs)`.
  }];
  let options = [
    Option<"target", "target", "std::string", /*default=*/"\"cpu\"",
           "Target: cpu, sm_80, sm_86, sm_89, sm_90, gfx90a or gfx942">,
    Option<"family", "family", "std::string", /*default=*/"\"\"",
           "When set (cpu, nvvm, rocdl), the target must be of that family: "
           "the named pipelines set it, so --attn-to-nvvm=chip=gfx942 is an "
           "error rather than AMD tiles lowered to NVVM">,
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

def ConvertAttnToTiles : Pass<"convert-attn-to-tiles", "ModuleOp"> {
  let summary = "Lower attn ops to a target-independent tile program";
  let description = [{
    Replaces each function whose body is one attn.attention with a kernel of
    the same name over memrefs (destination-passing: outputs are arguments):
    `(Q, K, V, [gate], [bias], [doc_ids], [block_mask], O, [LSE],
    wi_begin, wi_end[, tile_counts])`. Batch and sequence lengths are dynamic.
    The body is an `scf.forall` over work items (batch x query head x query
    tile) in [wi_begin, wi_end), each running the online-softmax loop over
    KV tiles: tiles the mask analysis proves empty are skipped, full tiles
    run without mask code, partial tiles evaluate the mask per element.
    With `pack_gqa = true` a work item is (batch x group of the query heads
    of a K/V head x tile of the group's packed rows), packed row r being
    query row r / G of the group's head r % G.

    With `#attn.schedule<stream_k(N)>` (LeanAttention) the work items are N
    workers instead, and a zeroed `memref<?xf32>` workspace follows the
    outputs: worker p takes units [p * ceil(U / N), ...) of the U = (output
    tile x KV tile) iteration space. Output tiles it covers whole are
    finished directly; for a share of a tile it publishes the partial
    (acc, max, sum) in its slot and adds 1 to the tile's arrival counter
    (`memref.atomic_rmw`, acq_rel); the worker that completes the count
    merges the shares with the online-softmax rescaling and stores the tile.
    No worker waits for another, so any number of threads runs it.
    `#attn.schedule<split_kv(N)>` (FlashDecoding) runs the same protocol
    with N workers per output tile (B x heads x query tiles x N work items):
    worker p takes split p % N of tile p / N, ceil(KV tiles / N) of its KV
    tiles, and publishes it in its one slot.

    A function whose body is one attn.linear_attention becomes
    `(Q, K, V, [state_in], O, [state_out], wi_begin, wi_end)` with one work
    item per (batch, head), chunked as Lightning Attention-2: chunks of
    `blockQ` rows, the quadratic form inside a chunk (intra-block) and a
    carried `[F, Dv(+1)]` state for everything before it (inter-block), so
    the work is linear in the sequence length. With `split_kv(N)` a work
    item is (batch, head, segment) and a zeroed workspace follows the
    outputs: an item takes its segment as a ticket from its (batch, head)
    counter, publishes its own rows' state, waits for the states of the
    segments before it (non-causal: of all, summing the rows of segments no
    item has taken yet itself) and walks its chunks from their sum, as the
    GPU kernel does.

    Requires the tiling chosen by attn-select-schedule.
  }];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::func::FuncDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect"];
  let options = [
    Option<"countTiles", "count-tiles", "bool", /*default=*/"false",
           "Add a memref<2xi64> argument counting executed full / partial "
           "tiles (instrumentation for tests)">,
  ];
}

def ConvertAttnToNVGPU : Pass<"convert-attn-to-nvgpu", "ModuleOp"> {
  let summary = "Lower attn.attention to an NVIDIA tensor-core kernel";
  let description = [{
    A function holding one attn.linear_attention becomes the GPU
    linear-attention kernel (shared with convert-attn-to-amdgpu): one block
    per (batch, head, block_kv columns of Dv) walks Lightning Attention-2
    chunks of block_q rows with the state [F, cols] and the chunk's rows in
    dynamic shared memory (four phases per chunk between barriers; the
    chunk products on mma.sync tiles for bf16 inputs, f32 FMAs for f16 and
    f32); ABI q, k, v, [state_in], o, [state_out], B, Sq, Skv.

    Replaces each function holding one attn.attention with a `gpu.module`
    `<name>_kernels` containing `gpu.func @<name>` (kernel). One CTA per work
    item: grid (ceil(Sq / block_q), Hq x ceil(Dv / 128), B), block 32 x warps
    threads (a Dv over 128 is split over CTAs that each recompute S); each
    warp owns 16 query rows. S = Q K^T and O += P V run on `nvvm.mma.sync`
    m16n8k16 (f16 or bf16 operands, f32 accumulators) with the fragments in
    registers; the online softmax works on the accumulator fragments (row max
    and sum across the 4 lanes of a quad with `gpu.shuffle xor`) in base 2,
    with log2(e) folded into the score scale. Tile classification, the mask
    and the score modifications are the same code as the CPU tile program.
    Kernel ABI ("flat-memref"): every tensor is a 1-D memref (numel
    elements), in the order Q, K, V, [gate], [bias], [doc_ids],
    [block_mask], O, [LSE], followed by the index scalars B, Sq, Skv.

    K and V tiles are staged in dynamic shared memory by multi-stage
    cp.async. f32 inputs take a SIMT kernel (one query row per thread).
    With `wgmma`, f16 / bf16 take warpgroup MMA (sm_90a): Q, K, V and P in
    shared memory in the no-swizzle core-matrix layout. With `tma` as well,
    Q, K and V arrive by TMA in boxes of 64 columns
    (`cp.async.bulk.tensor`, mbarrier per stage) into 128-byte swizzled
    tiles, and the kernel takes three more parameters after Sq / Skv: the
    CUtensorMap of Q, K and V (ABI "flat-memref+tma"; the kernel carries
    `attn.tensor_map_params = 3`). `warp-specialize` moves the loads to a
    producer warpgroup (FlashAttention-3): the math warpgroups wait on a
    "full" mbarrier per stage and release it on an "empty" one, with no CTA
    barrier in the KV loop.

    `#attn.schedule<stream_k(N)>` (LeanAttention) takes the mma.sync kernel
    (SIMT for f32) on every target, with grid (N, Dv chunks, 1) and one more
    parameter after Skv: a global f32 workspace (runtime-allocated, its
    leading N x chunks arrival counters zeroed). CTA p walks units
    [p * ceil(U / N), ...) of the U = (output tile x KV tile) space with the
    same KV loop; a tile it covers whole gets the epilogue, a share is
    stored per thread in the CTA's slot (fragment layout), fenced, and
    counted by one thread's atomic add; the CTA completing the count reads
    every share back into its registers, merges them with the online-softmax
    rescaling and runs the epilogue. `#attn.schedule<split_kv(N)>` runs the
    same protocol with N CTAs per output tile and Dv chunk: grid (output
    tiles x N, Dv chunks, 1), CTA p taking split p % N of tile p / N, and a
    workspace that grows with B and Sq (the bundle gives it as a formula).
  }];
  let options = [
    Option<"wgmma", "wgmma", "bool", /*default=*/"false",
           "Use wgmma.mma_async (sm_90a) instead of mma.sync for f16/bf16">,
    Option<"tma", "tma", "bool", /*default=*/"false",
           "With wgmma, load Q/K/V by TMA (boxes of 64 columns, 128-byte "
           "swizzle); the kernel then takes three CUtensorMap parameters "
           "(ABI flat-memref+tma)">,
    Option<"warpSpecialize", "warp-specialize", "bool", /*default=*/"false",
           "With tma, add a producer warpgroup that issues the TMA loads "
           "(full / empty mbarriers per stage, setmaxnreg); the block has "
           "32 x warps + 128 threads">,
    Option<"producerRegisters", "producer-registers", "int64_t",
           /*default=*/"72",
           "Warp-specialized kernel: registers the producer warpgroup keeps "
           "(setmaxnreg.dec); the math warps get (512 - N) / 2 rounded down "
           "to a multiple of 8">,
    Option<"overlap", "overlap", "bool", /*default=*/"false",
           "Warp-specialized kernel: issue each live tile's P V product with "
           "the next tile's S product so it runs during that softmax "
           "(FlashAttention-3 intra-warpgroup pipelining; needs stages >= 2)">,
    Option<"pingpong", "pingpong", "bool", /*default=*/"false",
           "Warp-specialized kernel: the math warpgroups take turns issuing "
           "their products through named barriers, so one's softmax runs "
           "under another's GEMMs (FlashAttention-3 ping-pong; a turn is a "
           "tile's P V and the next S, or with overlap each issue; needs at "
           "least two math warpgroups)">,
    Option<"persistent", "persistent", "bool", /*default=*/"false",
           "Warp-specialized kernel: persistent CTAs, each walking output "
           "tiles blockIdx.x, + gridDim.x, ... (last query tile first) with "
           "its stages and phases carried over, so the producer loads the "
           "next tile's Q and K / V during this tile's epilogue; any grid "
           "size is correct (the bundle launches min(tiles, N)). Other "
           "kernels ignore it">,
    Option<"exp2Ftz", "exp2-ftz", "bool", /*default=*/"true",
           "Exponentials as ex2.approx.ftz.f32 (one MUFU.EX2); false: "
           "ex2.approx.f32 through llvm.exp2 (keeps subnormal results; the "
           "compile retries with it where ptxas spills the flushing form)">
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::nvgpu::NVGPUDialect",
                           "::mlir::NVVM::NVVMDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnMarkTensorMapParams : Pass<"attn-mark-tensor-map-params", "ModuleOp"> {
  let summary = "Pass the TMA descriptors of NVVM kernels by value";
  let description = [{
    For every `llvm.func` kernel carrying `attn.tensor_map_params = N`, gives
    its last N parameters (pointers in the generated IR) the attributes
    `{llvm.align = 64, llvm.byval = !llvm.array<128 x i8>,
    nvvm.grid_constant}`, so the PTX declares them `.param .align 64 .b8
    p[128]` like CUDA's `const __grid_constant__ CUtensorMap`: the host
    places the 128-byte tensor maps in the launch's argument buffer and no
    device allocation is needed. Runs after `convert-gpu-to-nvvm`, which
    drops parameter attributes of `gpu.func`.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect",
                           "::mlir::NVVM::NVVMDialect"];
}

def AttnNVVMToHost : Pass<"attn-nvvm-to-host", "ModuleOp"> {
  let summary = "Turn NVVM kernels into host code that runs on the nvemu emulator";
  let description = [{
    Takes the output of `attn-to-nvvm` and rewrites it for the CPU, so the
    kernels' numerics can be checked without a GPU: the bodies of the
    `gpu.module`s become the module (host code is dropped), address spaces
    are erased, and every NVVM operation becomes a call into the emulator
    library (`tools/nvemu`), which runs a CTA's threads as fibers and
    implements the warp-collective operations (`mma.sync`, `ldmatrix`,
    `shfl.sync`), barriers, `cp.async` groups (copies land at the wait, so
    a read before the wait sees stale data) and special registers from the
    PTX ISA. Each kernel gets an entry `<kernel>__nvemu(void **params)`
    taking CUDA's `kernelParams` array. Operations the emulator does not
    implement (wgmma, TMA, mbarriers, inline PTX) are located errors.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def AttnROCDLToHost : Pass<"attn-rocdl-to-host", "ModuleOp"> {
  let summary = "Turn ROCDL kernels into host code that runs on the emulator (wave64)";
  let description = [{
    The AMD counterpart of `attn-nvvm-to-host`: takes the output of
    `attn-to-rocdl` and rewrites it for the CPU, so the AMD kernels'
    numerics can be checked without a GPU. The device code of the
    `gpu.module`s becomes the module, address spaces are erased, the LDS
    globals are placed in the emulated work-group's LDS (their total in
    `__amdemu_lds_bytes`), and every ROCDL operation becomes a call into
    the emulator library (`tools/nvemu`, wave64 mode), which implements
    `v_mfma_f32_16x16x16{f16,bf16_1k}`, `ds_bpermute`, `ds_swizzle`,
    `v_mbcnt`, `s_barrier` and the work-item / work-group ids from the
    CDNA3 ISA. Each kernel gets an entry `<kernel>__amdemu(void **params)`
    taking HIP's `kernelParams` array. Operations the emulator does not
    implement are located errors.
  }];
  let dependentDialects = ["::mlir::LLVM::LLVMDialect"];
}

def ConvertAttnToAMDGPU : Pass<"convert-attn-to-amdgpu", "ModuleOp"> {
  let summary = "Lower attn.attention to an AMD MFMA kernel (wave64)";
  let description = [{
    Like convert-attn-to-nvgpu for CDNA: one workgroup per (query tile,
    head, batch), `warps` wave64 waves of 16 query rows each, S^T = K Q^T and
    O^T = V^T P^T on `amdgpu.mfma` 16x16x16 (f16 / bf16; f32 inputs on four
    16x16x4 f32 MFMAs per step), so each lane owns one query row and P
    stays in registers. exp2 / log2 are LLVM intrinsics
    (v_exp_f32 / v_log_f32): no ROCm device library is needed. Same
    flat-memref kernel ABI as the NVIDIA kernel. With
    `#attn.schedule<stream_k(N)>` (LeanAttention) N workgroups walk equal
    shares of the (output tile x KV tile) units and merge split tiles
    through a global f32 workspace after the B, Sq, Skv scalars (the
    runtime allocates it per launch, counters zeroed); `split_kv(N)` the
    same with N workgroups per output tile (grid output tiles x N, each one
    contiguous split of its tile's KV loop). attn.linear_attention
    takes the NVIDIA pass's linear-attention kernel, its shared memory one
    static LDS workgroup attribution.
  }];
  let dependentDialects = ["::mlir::amdgpu::AMDGPUDialect",
                           "::mlir::arith::ArithDialect",
                           "::mlir::gpu::GPUDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::memref::MemRefDialect",
                           "::mlir::scf::SCFDialect",
                           "::mlir::vector::VectorDialect"];
}

def AttnExpandMath : Pass<"attn-expand-math", "ModuleOp"> {
  let summary = "Rewrite the math ops a target has no lowering for";
  let description = [{
    Kernels reach arbitrary math ops through a user's `mask_fn` /
    `score_fn` region. `target=rocdl` (inside every `gpu.module`): the
    AMDGPU backend lowers f32 exp, log, sqrt, rsqrt and fabs natively, but
    convert-gpu-to-rocdl turns most other math ops into calls to ROCm's
    device library (ocml), which the bundles do not link, and LLVM's tanh /
    atan intrinsics have no AMDGPU lowering at all; they become arithmetic
    and natively lowered ops: polynomial approximations (tanh, erf, erfc,
    sin, cos, atan, atan2, asin, acos, cbrt, log2), the math dialect's
    expansions (hyperbolic functions, tan, powf, fpowi, exp2, ceil, round,
    roundeven, ctlz), log10 as log / ln 10, floor as -ceil(-x), f16 / bf16
    operands widened to f32 first. A math op left without such a lowering
    is a located error instead of a backend failure. `target=nvvm` (inside
    every `gpu.module`): libdevice covers the math ops except trunc, which
    becomes ceil / floor. `target=cpu` (the whole module): libm covers them
    except rsqrt, which becomes 1 / sqrt.
  }];
  let options = [
    Option<"target", "target", "std::string", "\"rocdl\"",
           "rocdl, nvvm or cpu">,
  ];
  let dependentDialects = ["::mlir::arith::ArithDialect",
                           "::mlir::LLVM::LLVMDialect",
                           "::mlir::math::MathDialect",
                           "::mlir::vector::VectorDialect"];
}

#endif // ATTN_PASSES_TD
