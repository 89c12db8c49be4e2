#!/usr/bin/env bash
# scripts/test.sh runs every part by default (issue 14, item 13): the PostgreSQL and worker tests
# against a private server, the browser test, fuzzing, the sanitizer suite and the portable build,
# with no CI=true needed; each opt-out is named again at the end. The script runs in a scratch
# copy of the repository where every tool it calls is a stub that logs its arguments, so this
# takes a second and installs or builds nothing.
# Usage: test_script_test.sh SOURCE_DIR
set -euo pipefail
source_dir=$1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/repo/scripts" "$work/repo/tests" "$work/repo/fuzz" "$work/repo/build-portable" "$work/bin"
cp "$source_dir/scripts/test.sh" "$work/repo/scripts/test.sh"
touch "$work/repo/fuzz/a_fuzz.cpp" "$work/repo/fuzz/b_fuzz.cpp"
log="$work/calls.log"

# A stub that logs "NAME ARGS" and, for ctest (directly or through with_postgres.sh), prints the
# summary line test.sh counts.
stub() {
  cat >"$1" <<EOF
#!/usr/bin/env bash
echo "$2 \$*" >>"$log"
EOF
  chmod +x "$1"
}
for tool in deps.sh build.sh fuzz.sh; do stub "$work/repo/scripts/$tool" "$tool"; done
stub "$work/repo/tests/install_test.sh" install_test.sh
stub "$work/repo/build-portable/simd_test" simd_test
for tool in cmake ninja; do stub "$work/bin/$tool" "$tool"; done
stub "$work/bin/ctest" ctest
echo 'echo "100% tests passed, 0 tests failed out of 3"' >>"$work/bin/ctest"
stub "$work/repo/scripts/with_postgres.sh" with_postgres.sh
echo 'exec "$@"' >>"$work/repo/scripts/with_postgres.sh"
stub "$work/repo/scripts/sanitize.sh" sanitize.sh
echo 'echo "100% tests passed, 0 tests failed out of 2"' >>"$work/repo/scripts/sanitize.sh"

failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
# Runs the copied test.sh with ARGS, as a newcomer would: no CI, no opt-in variables.
run() {
  : >"$log"
  (cd "$work" && env -u CI -u NNTUNE_WITH_POSTGRES -u NNTUNE_TEST_SKIP PATH="$work/bin:$PATH" \
     bash repo/scripts/test.sh "$@") >"$work/out.txt" 2>&1 || true
}

run
grep -q '^with_postgres.sh ctest' "$log" || fail "the default run did not run ctest under scripts/with_postgres.sh"
grep -q '^deps.sh .*postgres' "$log" || fail "the default run did not install the postgres group"
grep -q '^deps.sh .*browser' "$log" || fail "the default run did not install the browser group"
grep -q '^fuzz.sh' "$log" || fail "the default run did not fuzz"
grep -q '^sanitize.sh' "$log" || fail "the default run did not run the sanitizer suite"
grep -q '^install_test.sh' "$log" || fail "the default run did not run the portable install test"
grep -q 'SKIPPED' "$work/out.txt" && fail "the default run skipped something"
last=$(tail -n 1 "$work/out.txt")
[[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]] || fail "last line '$last' is not 'N passed, 0 failed'"

run --no-postgres
grep -q '^with_postgres.sh' "$log" && fail "--no-postgres still started a PostgreSQL server"
grep -q '^ctest' "$log" || fail "--no-postgres did not run the suite"
grep -q 'SKIPPED the PostgreSQL storage and worker tests (--no-postgres)' "$work/out.txt" ||
  fail "--no-postgres is not named at the end"

run --quick
for part in postgres browser fuzz sanitize portable; do
  grep -q "SKIPPED.*(--no-$part)" "$work/out.txt" || fail "--quick does not name --no-$part at the end"
done

if [ "$failures" -gt 0 ]; then
  echo "--- output of the last run:" >&2
  cat "$work/out.txt" >&2
  exit 1
fi
echo "test.sh runs every part by default and names each opt-out"
