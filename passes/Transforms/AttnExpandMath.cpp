//===- AttnExpandMath.cpp - math ops a target can lower by itself ---------===//
//
// A user's mask_fn / score_fn region brings arbitrary math ops into the
// kernels. The bundles carry no ROCm device library (the compiler needs no
// ROCm install), so an AMD kernel may only use what the AMDGPU backend
// lowers to instructions: the other ops are rewritten here before
// convert-gpu-to-rocdl would turn them into ocml calls. NVIDIA kernels link
// libdevice, and the CPU libm; each lacks one op.
//
//===----------------------------------------------------------------------===//

#include "attn/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <cmath>

namespace mlir::attn {
#define GEN_PASS_DEF_ATTNEXPANDMATH
#include "passes/Passes.h.inc"
} // namespace mlir::attn

using namespace mlir;

namespace {

/// f32 ops the AMDGPU backend lowers to instructions once convert-gpu-to-rocdl
/// has made them LLVM intrinsics (v_exp_f32, v_log_f32, v_sqrt_f32,
/// v_rsq_f32 and their range fix-ups), and ops with no library call at all.
bool loweredNatively(Operation *op) {
  return isa<math::ExpOp, math::LogOp, math::SqrtOp, math::RsqrtOp,
             math::AbsFOp, math::FmaOp, math::CopySignOp, math::Log1pOp,
             math::ExpM1Op, math::AbsIOp, math::CountLeadingZerosOp,
             math::CountTrailingZerosOp, math::CtPopOp>(op);
}

/// Ops the polynomial approximations replace (by mnemonic, with or without
/// the dialect prefix).
bool approximated(StringRef name) {
  name.consume_front("math.");
  return llvm::is_contained({"tanh", "erf", "erfc", "sin", "cos", "atan",
                             "atan2", "asin", "acos", "cbrt", "log2"},
                            name);
}

/// floor(x) = -ceil(-x) and trunc(x) = x < 0 ? ceil(x) : floor(x), for the
/// ceil expansion to finish (convert-gpu-to-rocdl would call ocml for both,
/// and it marks their LLVM intrinsics illegal).
struct ExpandFloor : OpRewritePattern<math::FloorOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::FloorOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value neg = arith::NegFOp::create(rewriter, loc, op.getOperand());
    Value ceil = math::CeilOp::create(rewriter, loc, neg);
    rewriter.replaceOpWithNewOp<arith::NegFOp>(op, ceil);
    return success();
  }
};
struct ExpandTrunc : OpRewritePattern<math::TruncOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::TruncOp op,
                                PatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = op.getOperand();
    Value zero = arith::ConstantOp::create(
        rewriter, loc, rewriter.getZeroAttr(x.getType()));
    Value negative = arith::CmpFOp::create(
        rewriter, loc, arith::CmpFPredicate::OLT, x, zero);
    Value up = math::CeilOp::create(rewriter, loc, x);
    Value down = math::FloorOp::create(rewriter, loc, x);
    rewriter.replaceOpWithNewOp<arith::SelectOp>(op, negative, up, down);
    return success();
  }
};

/// log10(x) = log(x) / ln 10.
struct ExpandLog10 : OpRewritePattern<math::Log10Op> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::Log10Op op,
                                PatternRewriter &rewriter) const override {
    Type type = op.getType();
    if (!isa<FloatType>(type))
      return failure();
    Location loc = op.getLoc();
    Value log = math::LogOp::create(rewriter, loc, op.getOperand());
    Value inv = arith::ConstantOp::create(
        rewriter, loc, rewriter.getFloatAttr(type, 1.0 / std::log(10.0)));
    rewriter.replaceOpWithNewOp<arith::MulFOp>(op, log, inv);
    return success();
  }
};

struct AttnExpandMathPass
    : mlir::attn::impl::AttnExpandMathBase<AttnExpandMathPass> {
  using Base::Base;

  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    RewritePatternSet patterns(ctx);
    if (target == "cpu") {
      math::populateExpansionPatterns(patterns, {"rsqrt"});
      if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
        signalPassFailure();
      return;
    }
    if (target == "nvvm") {
      patterns.add<ExpandTrunc>(ctx);
    } else if (target == "rocdl") {
      // The approximations are written for f32: f16 / bf16 operands widen
      // first.
      populateMathF32ExpansionPatterns(patterns, approximated);
      populateMathPolynomialApproximationPatterns(patterns, approximated);
      math::populateExpansionPatterns(
          patterns, {"sinh", "cosh", "asinh", "acosh", "atanh", "tan", "powf",
                     "fpowi", "exp2", "ceil", "round", "roundeven", "ctlz"});
      patterns.add<ExpandFloor, ExpandTrunc, ExpandLog10>(ctx);
    } else {
      getOperation().emitError()
          << "attn-expand-math: unknown target '" << target
          << "' (rocdl, nvvm or cpu)";
      return signalPassFailure();
    }
    FrozenRewritePatternSet frozen(std::move(patterns));
    for (auto gpuModule : getOperation().getOps<gpu::GPUModuleOp>()) {
      if (failed(applyPatternsGreedily(gpuModule, frozen)))
        return signalPassFailure();
      if (target != "rocdl")
        continue;
      WalkResult left = gpuModule.walk([&](Operation *op) {
        if (!isa<math::MathDialect>(op->getDialect()) || loweredNatively(op))
          return WalkResult::advance();
        op->emitError() << "'" << op->getName()
                        << "' has no lowering on AMD GPUs without ROCm's "
                           "device library (which bundles do not link)";
        return WalkResult::interrupt();
      });
      if (left.wasInterrupted())
        return signalPassFailure();
    }
  }
};

} // namespace
