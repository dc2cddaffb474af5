#!/usr/bin/env bash
# README command (b): install, build, run every test (lit + GoogleTest + e2e
# through ctest) and print one closing "N passed, N failed" line.
set -uo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD_DIR:-$ROOT/build}
"$ROOT/scripts/install-deps.sh" || exit 1
"$ROOT/scripts/build.sh" || { echo "0 passed, 1 failed (build)"; exit 1; }
cd "$BUILD"
ctest --output-on-failure -j "${JOBS:-$(nproc)}" 2>&1 | tee ctest.log
rc=${PIPESTATUS[0]}
read -r passed failed < <(awk '
  /tests passed, [0-9]+ tests failed out of [0-9]+/ {
    for (i = 1; i <= NF; i++) if ($i == "failed") f = $(i - 2); t = $NF }
  END { print t - f, f }' ctest.log)
if [ "$rc" -ne 0 ] && [ "${failed:-0}" -eq 0 ]; then failed=1; fi
echo "${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
