// RUN: attention-opt %s --split-input-file --attn-select-schedule=target=sm_80 --convert-attn-to-nvgpu | FileCheck %s
// On a partial tile the column bound, and a mask that is one band, are
// 32-bit compares of the lane's column in the tile, c + 2t, against
// limits less 2t computed once per tile, so that c is an immediate: the
// column count min(Skv - j0, block_kv) and the band's first / last kept
// column of each row, i + (Skv - Sq) - j0 -/+ the band's sides, clamped
// to the tile. Other masks compare absolute 64-bit columns (keepAt), and
// the bound reuses the column: col < Skv.

// CHECK-LABEL: gpu.func @causal
// CHECK: %[[LEFT:.+]] = arith.minsi %{{.+}}, %c64{{.*}} : index
// CHECK-NEXT: %[[COLS:.+]] = arith.index_cast %[[LEFT]] : index to i32
// CHECK-NEXT: %[[LIMIT:.+]] = arith.subi %[[COLS]], %[[LANE2:[^ ]+]] : i32
// The causal band's right side only, for the lane's first row.
// CHECK: %[[HI0:.+]] = arith.maxsi %{{.+}}, %c-1{{.*}} : index
// CHECK-NEXT: %[[HI1:.+]] = arith.minsi %[[HI0]], %c63{{.*}} : index
// CHECK-NEXT: %[[HI2:.+]] = arith.index_cast %[[HI1]] : index to i32
// CHECK-NEXT: %[[HI:.+]] = arith.subi %[[HI2]], %[[LANE2]] : i32
// CHECK: %[[C0:.+]] = arith.constant 0 : i32
// CHECK-NEXT: %[[IN:.+]] = arith.cmpi sgt, %[[LIMIT]], %[[C0]] : i32
// CHECK-NEXT: %[[BAND:.+]] = arith.cmpi sge, %[[HI]], %[[C0]] : i32
// CHECK-NEXT: arith.andi %[[IN]], %[[BAND]] : i1
// CHECK-NEXT: arith.constant 0xFF800000 : f32
// CHECK-NEXT: arith.select
func.func @causal(%q: tensor<1x2x300x64xf16>) -> tensor<1x2x300x64xf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<causal>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16> -> tensor<1x2x300x64xf16>
  return %o : tensor<1x2x300x64xf16>
}

// -----

// A window has both sides: the first kept column clamped to [0, 64].
// CHECK-LABEL: gpu.func @window
// CHECK: %[[LIMIT:.+]] = arith.subi %{{.+}}, %[[LANE2:[^ ]+]] : i32
// CHECK: %[[LO0:.+]] = arith.maxsi %{{.+}}, %c0{{.*}} : index
// CHECK-NEXT: %[[LO1:.+]] = arith.minsi %[[LO0]], %c64{{.*}} : index
// CHECK-NEXT: %[[LO2:.+]] = arith.index_cast %[[LO1]] : index to i32
// CHECK: %[[LO:.+]] = arith.subi %[[LO2]], %[[LANE2]] : i32
// CHECK-NEXT: %[[HI:.+]] = arith.subi %{{.+}}, %[[LANE2]] : i32
// CHECK: %[[C0:.+]] = arith.constant 0 : i32
// CHECK-NEXT: arith.cmpi sgt, %[[LIMIT]], %[[C0]] : i32
// CHECK-NEXT: arith.cmpi sle, %[[LO]], %[[C0]] : i32
// CHECK: arith.cmpi sge, %[[HI]], %[[C0]] : i32
func.func @window(%q: tensor<1x2x300x64xf16>) -> tensor<1x2x300x64xf16> {
  %o = attn.attention %q, %q, %q {mask = #attn.mask<window(16, 4)>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16> -> tensor<1x2x300x64xf16>
  return %o : tensor<1x2x300x64xf16>
}

// -----

// With documents the mask compares absolute columns (clamped below Skv)
// with the row and the two document ids, and the bound compares the
// column with Skv: no 32-bit offsets before the first masked score.
// CHECK-LABEL: gpu.func @document
// CHECK-NOT: index to i32
// CHECK: memref.load %{{.+}} : memref<?x?xi32
// CHECK-NOT: index to i32
// CHECK: arith.cmpi slt, %{{.+}}, %arg7 : index
// CHECK-NOT: index to i32
// CHECK: arith.select %{{.+}}, %{{.+}}, %cst{{.*}} : f32
func.func @document(%q: tensor<1x2x300x64xf16>, %docs: tensor<1x300xi32>) -> tensor<1x2x300x64xf16> {
  %o = attn.attention %q, %q, %q doc_ids(%docs : tensor<1x300xi32>) {mask = #attn.mask<causal, document>, tiling = #attn.tiling<block_q = 64, block_kv = 64, warps = 4, stages = 2>} : tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16>, tensor<1x2x300x64xf16> -> tensor<1x2x300x64xf16>
  return %o : tensor<1x2x300x64xf16>
}
