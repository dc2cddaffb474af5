//===- attention-opt.cpp - the attn compiler driver -----------------------===//
//
// mlir-opt with the attn dialect, its passes and pipelines, plus `--gen`,
// which prints the attn IR of a spec string so nobody has to write MLIR by
// hand for a standard layer.
//
//===----------------------------------------------------------------------===//

#include "attn/Dialect/Attn/IR/AttnDialect.h"
#include "attn/Driver/Compile.h"
#include "attn/Frontend/SpecIR.h"
#include "attn/InitAll.h"
#include "attn/Passes.h"

#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;

static llvm::cl::opt<std::string>
    genSpec("gen",
            llvm::cl::desc("Print the attn IR of a spec string, e.g. "
                           "--gen=\"heads=32:8 seq=4096 dim=128 mask=causal\" "
                           "(grammar: docs/spec-grammar.md)"),
            llvm::cl::value_desc("spec"));

static llvm::cl::opt<std::string> compileTargets(
    "attn-compile",
    llvm::cl::desc("Compile the input to a kernel bundle: "
                   "--attn-compile=\"target=sm_90,cpu\" --emit-dir=DIR "
                   "writes <name>.<target>.{ptx,cubin,so}, <name>.json and "
                   "<name>.h. More space-separated options choose the sm_90a "
                   "kernel: tma=0|1, warp-specialize=0|1, overlap=0|1, "
                   "pingpong=0|1 (default 1, 1, 0, 0; pingpong needs "
                   "warp-specialize), persistent=N|sm (N persistent CTAs, or one "
                   "per multiprocessor of the launching device, walk the "
                   "output tiles; default 0: a CTA per tile), "
                   "producer-registers=N (the producer warpgroup's share "
                   "after setmaxnreg, a multiple of 8 in [24, 256); "
                   "default: the first split ptxas fits without spills); "
                   "emulation=1 adds nvemu/<hash>.so, the NVIDIA "
                   "kernels built for the CPU emulator (tools/nvemu)"),
    llvm::cl::value_desc("target=list [tma=0|1] [warp-specialize=0|1] "
                         "[overlap=0|1] [pingpong=0|1] [persistent=N|sm] "
                         "[producer-registers=N] [emulation=0|1]"));
static llvm::cl::opt<std::string>
    emitDir("emit-dir", llvm::cl::desc("Bundle output folder"),
            llvm::cl::init("."));

/// Handles --attn-compile: one bundle per function holding an attn op.
static int runCompile(StringRef inputFilename, DialectRegistry &registry) {
  SmallVector<StringRef> words;
  StringRef(compileTargets).split(words, ' ', -1, /*KeepEmpty=*/false);
  StringRef targets = words.empty() ? StringRef() : words.front();
  if (!targets.consume_front("target=")) {
    llvm::errs() << "attention-opt: error: --attn-compile expects "
                    "target=<list>, got '"
                 << compileTargets << "'\n";
    return 1;
  }
  attn::NvvmKernelOptions nvvm;
  std::string error;
  StringRef all(compileTargets);
  std::vector<std::string> given = attn::parseNvvmKernelOptions(
      all.substr(words.front().end() - all.data()), nvvm, error);
  if (!error.empty()) {
    llvm::errs() << "attention-opt: error: --attn-compile " << error << "\n";
    return 1;
  }
  SmallVector<StringRef> targetList;
  targets.split(targetList, ',');
  if (llvm::any_of(targetList, [](StringRef t) { return t.trim().empty(); })) {
    llvm::errs() << "attention-opt: error: --attn-compile target list '"
                 << targets << "' has an empty entry\n";
    return 1;
  }
  llvm::StringSet<> seen;
  for (StringRef t : targetList)
    if (!seen.insert(t.trim()).second) {
      llvm::errs() << "attention-opt: error: --attn-compile target list '"
                   << targets << "' names " << t.trim() << " twice\n";
      return 1;
    }
  if (llvm::any_of(given, [](const std::string &g) { return g != "emulation"; }) &&
      llvm::none_of(targetList, [](StringRef t) {
        return t.trim() == "sm_90a";
      }))
    llvm::errs() << "attention-opt: warning: --attn-compile kernel options "
                    "choose among sm_90a kernels and have no effect on "
                 << targets << "\n";
  MLIRContext context(registry);
  context.loadAllAvailableDialects();
  OwningOpRef<ModuleOp> module =
      parseSourceFile<ModuleOp>(inputFilename, &context);
  if (!module)
    return 1;
  if (failed(attn::compileBundle(*module, targets.str(), emitDir,
                                 attn::ToolPaths::defaults(), nvvm)))
    return 1;
  return 0;
}

/// Handles --gen: parse, validate, build, print. Returns the exit code.
static int runGen(const std::string &text, StringRef outputFilename,
                  DialectRegistry &registry) {
  attn::AttentionSpec spec;
  std::string error;
  if (!attn::parseSpec(text, spec, error)) {
    llvm::errs() << "attention-opt: error: bad spec: " << error << "\n";
    return 1;
  }
  if (std::string invalid = attn::validateSpec(spec); !invalid.empty()) {
    llvm::errs() << "attention-opt: error: invalid spec: " << invalid << "\n";
    return 1;
  }
  MLIRContext context(registry);
  OwningOpRef<ModuleOp> module = attn::buildModuleFromSpec(&context, spec);
  if (failed(verify(*module))) {
    llvm::errs() << "attention-opt: error: spec built invalid IR\n";
    return 1;
  }
  std::string message;
  auto output = openOutputFile(outputFilename, &message);
  if (!output) {
    llvm::errs() << "attention-opt: error: " << message << "\n";
    return 1;
  }
  output->os() << "// spec: " << attn::printSpec(spec) << "\n";
  module->print(output->os());
  output->os() << "\n";
  output->keep();
  return 0;
}

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  DialectRegistry registry;
  attn::registerAllDialects(registry);
  attn::registerAllPasses();

  auto [inputFilename, outputFilename] = registerAndParseCLIOptions(
      argc, argv, "attention-opt: the attn dialect compiler\n", registry);
  if (genSpec.getNumOccurrences())
    return runGen(genSpec, outputFilename, registry);
  if (compileTargets.getNumOccurrences())
    return runCompile(inputFilename, registry);
  return asMainReturnCode(
      MlirOptMain(argc, argv, inputFilename, outputFilename, registry));
}
