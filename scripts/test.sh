#!/usr/bin/env bash
# One command for every test on a fresh Debian machine: installs what it needs, builds, and runs
#   1. the whole suite (ctest), the PostgreSQL storage and worker tests against a private server
#      (scripts/with_postgres.sh) and the HTML reports in headless Chromium included;
#   2. every fuzz target for NNTUNE_FUZZ_SECONDS seconds each (default 30; scripts/fuzz.sh), from
#      libFuzzer seed NNTUNE_FUZZ_SEED (default 1) and at most NNTUNE_FUZZ_RUNS inputs (default
#      20000), so a commit's result repeats and can be checked before pushing;
#   3. the whole suite again under AddressSanitizer and UndefinedBehaviorSanitizer
#      (scripts/sanitize.sh, build-san/);
#   4. the installable build (-DNNTUNE_NATIVE=OFF, build-portable/): its kernels and an outside
#      project built against the installed package (tests/install_test.sh).
# CI runs exactly this. Opt-outs for a quicker local run, each named again at the end:
#   --no-postgres --no-browser --no-fuzz --no-sanitize --no-portable, or --quick for all five; or
#   the same words in NNTUNE_TEST_SKIP ("postgres browser fuzz sanitize portable").
# The last line is "N passed, N failed" (ctest tests of both suites, plus one per fuzz target).
set -uo pipefail
cd "$(dirname "$0")/.."

skip=" ${NNTUNE_TEST_SKIP:-} "
for arg in "$@"; do
  case "$arg" in
    --quick) skip+=" postgres browser fuzz sanitize portable " ;;
    --no-postgres) skip+=" postgres " ;;
    --no-browser) skip+=" browser " ;;
    --no-fuzz) skip+=" fuzz " ;;
    --no-sanitize) skip+=" sanitize " ;;
    --no-portable) skip+=" portable " ;;
    *) echo "test.sh: unknown option '$arg' (use --quick, --no-postgres, --no-browser, --no-fuzz, --no-sanitize, --no-portable)" >&2; exit 2 ;;
  esac
done
skipped() { [[ "$skip" == *" $1 "* ]]; }

groups=(build data)
skipped postgres || groups+=(postgres)
skipped browser || groups+=(browser)
{ skipped fuzz && skipped sanitize; } || groups+=(fuzz)
scripts/deps.sh "${groups[@]}" || exit 1
scripts/build.sh || exit 1

passed=0 failed=0 notes=()
# Adds ctest's "N% tests passed, F tests failed out of T" from log $1 to the totals.
count_ctest() {
  local line total bad
  line=$(grep -E "tests passed, [0-9]+ tests? failed out of [0-9]+" "$1" | tail -n 1)
  if [ -z "$line" ]; then failed=$((failed + 1)); notes+=("$2: ctest did not finish (see the output above)"); return; fi
  bad=$(sed -E 's/.* ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.* failed out of ([0-9]+).*/\1/' <<<"$line")
  passed=$((passed + total - bad)); failed=$((failed + bad))
  notes+=("$2: $line")
}

log_dir=$(mktemp -d)
trap 'rm -rf "$log_dir"' EXIT
ctest_args=(--output-on-failure -j"$(nproc)")
# NNTUNE_SKIP_BROWSER=1 makes the browser test report itself skipped (ctest's 77).
browser_env=(env)
skipped browser && browser_env=(env NNTUNE_SKIP_BROWSER=1)

echo "test.sh: the test suite" >&2
if skipped postgres; then
  "${browser_env[@]}" ctest --test-dir build "${ctest_args[@]}" --timeout 600 2>&1 | tee "$log_dir/main.log"
else
  "${browser_env[@]}" scripts/with_postgres.sh ctest --test-dir build "${ctest_args[@]}" --timeout 600 2>&1 | tee "$log_dir/main.log"
fi
count_ctest "$log_dir/main.log" "test suite"

if ! skipped portable; then
  # The installable build (-DNNTUNE_NATIVE=OFF, runs on any x86-64) installed into a temporary
  # prefix, examples/cpp built against it and run, its instructions checked (tests/install_test.sh);
  # simd_test there checks each dispatched kernel level against the plain x86-64 baseline.
  echo "test.sh: the installable (portable) build" >&2
  if { cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DNNTUNE_NATIVE=OFF -DNNTUNE_BENCH=OFF >/dev/null &&
       ninja -C build-portable -j"$(nproc)" nntune_cli simd_test &&
       build-portable/simd_test &&
       tests/install_test.sh . build-portable build-portable/install-test --portable; } 2>&1 | tee "$log_dir/portable.log"; then
    passed=$((passed + 1)); notes+=("portable build: simd_test and the install test passed")
  else
    failed=$((failed + 1)); notes+=("portable build: FAILED (see the output above)")
  fi
fi

if ! skipped fuzz; then
  seconds="${NNTUNE_FUZZ_SECONDS:-30}"
  echo "test.sh: fuzzing, ${seconds}s per target" >&2
  targets=$(ls fuzz/*_fuzz.cpp | wc -l)
  # A fixed seed makes CI's fuzzing repeatable: the same commit explores the same inputs.
  if NNTUNE_FUZZ_SEED="${NNTUNE_FUZZ_SEED:-1}" NNTUNE_FUZZ_RUNS="${NNTUNE_FUZZ_RUNS:-20000}" \
      scripts/fuzz.sh "$seconds" 2>&1 | tee "$log_dir/fuzz.log"; then
    passed=$((passed + targets)); notes+=("fuzzing: $targets targets, ${seconds}s or ${NNTUNE_FUZZ_RUNS:-20000} inputs each, no crash")
  else
    crashed=$(grep -c "found a crash" "$log_dir/fuzz.log")
    [ "$crashed" -gt 0 ] || crashed=$targets  # it did not get as far as fuzzing
    failed=$((failed + crashed)); passed=$((passed + targets - crashed))
    notes+=("fuzzing: $crashed of $targets targets crashed; inputs saved under fuzz/regressions/")
  fi
fi

if ! skipped sanitize; then
  echo "test.sh: the test suite under ASan and UBSan" >&2
  # The PostgreSQL tests and the browser test ran above (the browser test exercises the page's
  # script, not C++); under the sanitizers they skip.
  env NNTUNE_SKIP_BROWSER=1 scripts/sanitize.sh 2>&1 | tee "$log_dir/sanitize.log"
  count_ctest "$log_dir/sanitize.log" "sanitizers"
fi

echo
for note in "${notes[@]}"; do echo "test.sh: $note"; done
for part in postgres browser fuzz sanitize portable; do
  if skipped "$part"; then
    case "$part" in
      postgres) echo "test.sh: SKIPPED the PostgreSQL storage and worker tests (--no-postgres)" ;;
      browser) echo "test.sh: SKIPPED the HTML report browser test (--no-browser)" ;;
      fuzz) echo "test.sh: SKIPPED fuzzing (--no-fuzz)" ;;
      sanitize) echo "test.sh: SKIPPED the ASan+UBSan suite (--no-sanitize)" ;;
      portable) echo "test.sh: SKIPPED the installable (portable) build and its install test (--no-portable)" ;;
    esac
  fi
done
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
