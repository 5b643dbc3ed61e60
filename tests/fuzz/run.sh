#!/usr/bin/env bash
# Runs libFuzzer targets one after another, each for a bounded time, on its seed corpus
# (tests/fuzz/corpus/<target>/, read only: what the fuzzer finds goes to a scratch directory
# deleted afterwards) with its dictionary when it has one. A crash input is kept as
# build/fuzz/artifacts/<target>-crash-<sha1> and the run fails; the log of each target is
# build/fuzz/logs/<target>.log.
#   tests/fuzz/run.sh SECONDS TARGET...
# Extra libFuzzer flags come from FUZZ_FLAGS_EXTRA (for instance -jobs=2 -workers=2).
set -uo pipefail

if [ $# -lt 2 ]; then
  echo "usage: $0 <seconds> <target>..." >&2
  exit 2
fi
SECONDS_EACH=$1
shift
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
OUT=$ROOT/build/fuzz
mkdir -p "$OUT/artifacts" "$OUT/logs"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wnc-fuzz.XXXXXX")
trap 'rm -rf "$WORK"' EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

failed=0
for t in "$@"; do
  bin=$OUT/fuzz-$t
  seeds=$ROOT/tests/fuzz/corpus/$t
  dict=$ROOT/tests/fuzz/dict/$t.dict
  log=$OUT/logs/$t.log
  if [ ! -x "$bin" ]; then
    echo "fuzz: $bin is not built (make fuzz-build)" >&2
    exit 2
  fi
  mkdir -p "$WORK/$t"
  args=(-max_total_time="$SECONDS_EACH" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1
        -artifact_prefix="$OUT/artifacts/$t-")
  [ -f "$dict" ] && args+=(-dict="$dict")
  start=$(date +%s)
  # shellcheck disable=SC2086 # FUZZ_FLAGS_EXTRA is a list of flags
  "$bin" "${args[@]}" ${FUZZ_FLAGS_EXTRA:-} "$WORK/$t" "$seeds" >"$log" 2>&1
  status=$?
  took=$(( $(date +%s) - start ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1)
  if [ "$status" -ne 0 ]; then
    echo "fuzz: $t FAILED after ${took}s (exit $status); log $log:" >&2
    grep -E 'ERROR|invariant failed|runtime error|SUMMARY|Test unit written' "$log" | head -20 >&2
    failed=1
  else
    echo "fuzz: $t ok: ${execs:-?} executions in ${took}s (${rate:-?}/s), ${cov:-cov: ?}," \
         "$(find "$seeds" -type f | wc -l) seeds, $(find "$WORK/$t" -type f | wc -l) new inputs discarded"
  fi
  rm -rf "${WORK:?}/$t"
done
exit "$failed"
