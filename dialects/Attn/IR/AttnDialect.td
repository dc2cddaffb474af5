//===- AttnDialect.td - attn dialect definition ------------*- tablegen -*-===//

#ifndef ATTN_DIALECT_TD
#define ATTN_DIALECT_TD

include "mlir/IR/OpBase.td"

def Attn_Dialect : Dialect {
  let name = "attn";
  let cppNamespace = "::mlir::attn";
  let summary = "Declarative attention layers";
  let description = [{
    The `attn` dialect describes an attention layer at the level a kernel author
    thinks about it: head groupings (MHA, GQA, MQA, SQA, DiffQKV), sparsity masks,
    score modifications, normalization and epilogues, plus optional tiling and
    schedule choices. Lowering passes turn it into tiled kernels; the semantics
    every target must meet are in docs/ARCHITECTURE.md.
  }];
  let useDefaultAttributePrinterParser = 1;
  let dependentDialects = ["::mlir::arith::ArithDialect"];
  let extraClassDeclaration = [{
    /// Registers the attributes; defined next to their storage classes.
    void registerAttributes();
  }];
}

class Attn_Op<string mnemonic, list<Trait> traits = []>
    : Op<Attn_Dialect, mnemonic, traits>;

#endif // ATTN_DIALECT_TD
