#!/usr/bin/env bash
# Runs every libFuzzer target (fuzz/*_fuzz.cpp) for SECONDS each (default 30), built with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-san/ (scripts/sanitize.sh). Each
# starts from its seed corpus (fuzz/corpus/<input>/) and the saved crash inputs
# (fuzz/regressions/<input>/); a new crashing input is saved in fuzz/regressions/<input>/,
# where the normal test suite replays it (ctest -R _fuzz_replay), and the script fails.
# NNTUNE_FUZZ_SEED fixes libFuzzer's seed and starts from an empty scratch corpus, so that a run
# is a prefix of any longer run with the same seed; NNTUNE_FUZZ_RUNS caps the inputs tried per
# target as well as the seconds, so a faster machine does not explore further. CI uses seed 1 and
# a cap (scripts/test.sh); the same seed and cap with a generous time limit before pushing,
#   NNTUNE_FUZZ_SEED=1 NNTUNE_FUZZ_RUNS=<CI's cap> scripts/fuzz.sh 3600
# tries every input CI can. Unset, each run takes a fresh seed and keeps learning in
# build-san/fuzz-corpus/ (for finding new bugs).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]   e.g. scripts/fuzz.sh 600 model csv
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-30}"
shift || true
scripts/sanitize.sh --build-only
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for source in fuzz/*_fuzz.cpp; do
    name="$(basename "$source" .cpp)"
    targets+=("${name%_fuzz}")
  done
fi
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
failed=()
for target in "${targets[@]}"; do
  binary="build-san/${target}_fuzz"
  [ -x "$binary" ] || { echo "fuzz.sh: no fuzz target '$target' ($binary)" >&2; exit 2; }
  # New corpus entries go to a scratch directory: the committed seeds stay small and reviewed.
  work="build-san/fuzz-corpus/$target"
  seed_flags=()
  if [ -n "${NNTUNE_FUZZ_SEED:-}" ]; then
    seed_flags=(-seed="$NNTUNE_FUZZ_SEED")
    rm -rf "$work"
  fi
  [ -z "${NNTUNE_FUZZ_RUNS:-}" ] || seed_flags+=(-runs="$NNTUNE_FUZZ_RUNS")
  mkdir -p "$work" "fuzz/regressions/$target"
  seeds=()
  for dir in "fuzz/corpus/$target" "fuzz/regressions/$target"; do [ -d "$dir" ] && seeds+=("$dir"); done
  echo "fuzz.sh: $target for ${seconds}s" >&2
  log="build-san/fuzz-$target.log"
  if ! "$binary" -max_total_time="$seconds" -timeout=20 -rss_limit_mb=2048 -print_final_stats=1 "${seed_flags[@]}" \
      -artifact_prefix="fuzz/regressions/$target/" "$work" "${seeds[@]}" >"$log" 2>&1; then
    failed+=("$target")
    echo "fuzz.sh: $target found a crash: input saved in fuzz/regressions/$target/ (log: $log)" >&2
    grep -E "^(==[0-9]+==ERROR|SUMMARY|.*runtime error)" "$log" | head -5 >&2 || true
  else
    grep -E "stat::number_of_executed_units|stat::new_units_added" "$log" | tr '\n' ' ' >&2 || true
    echo >&2
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz.sh: crashes in: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: ${#targets[@]} targets ran ${seconds}s each${NNTUNE_FUZZ_RUNS:+ or ${NNTUNE_FUZZ_RUNS} inputs, whichever came first}, no crash" >&2
