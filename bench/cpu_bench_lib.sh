# Sourced by the bench/cpu_*.sh benchmarks (which are not tests): the
# attention-run of the build named by their first argument (default
# build/), and readers of its "bench:" line.
BUILD=${1:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/build}
RUN="$BUILD/bin/attention-run"
# Run time (ms) and spec-to-.so compile time (s) of one attention-run --bench.
ms() { sed -n 's/.*run_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
cs() { sed -n 's/.*compile_s=\([0-9.]*\).*/\1/p' <<<"$1"; }
# ratio FORMAT NUMERATOR DENOMINATOR: prints the quotient through printf's
# FORMAT (one %f conversion).
ratio() { awk -v n="$2" -v d="$3" -v f="$1" 'BEGIN { printf f "\n", n / d }'; }
