#!/usr/bin/env bash
# One command for every test on a fresh Debian machine: install, build, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build data
# CI renders the HTML reports in a real browser (report_browser_test); developer machines
# without chromium skip that test instead.
if [ "${CI:-}" = "true" ]; then scripts/deps.sh browser; fi
scripts/build.sh
ctest_command=(ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600)
# CI (and NNTUNE_WITH_POSTGRES=1) runs the PostgreSQL storage tests against a private server
# (scripts/with_postgres.sh); elsewhere they are reported as skipped.
if [ "${CI:-}" = "true" ] || [ "${NNTUNE_WITH_POSTGRES:-}" = "1" ]; then
  scripts/with_postgres.sh "${ctest_command[@]}"
else
  "${ctest_command[@]}"
fi
# CI: the installable build (-DNNTUNE_NATIVE=OFF, runs on any x86-64) installed into a temporary
# prefix, examples/cpp built against it and run, its instructions checked (tests/install_test.sh).
if [ "${CI:-}" = "true" ] || [ "${NNTUNE_TEST_PORTABLE:-}" = "1" ]; then
  cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DNNTUNE_NATIVE=OFF -DNNTUNE_BENCH=OFF >/dev/null
  ninja -C build-portable -j"$(nproc)" nntune_cli simd_test
  build-portable/simd_test  # here the baseline kernels are plain x86-64: each level checked against them
  tests/install_test.sh . build-portable build-portable/install-test --portable
fi
