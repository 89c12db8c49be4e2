#!/usr/bin/env bash
# The whole test suite under AddressSanitizer and UndefinedBehaviorSanitizer: builds everything
# with clang into build-san/ (the libFuzzer targets of scripts/fuzz.sh too, from the same
# objects) and runs ctest there. Any report fails the test that caused it.
# Usage: scripts/sanitize.sh [--build-only] [extra ctest arguments...]
set -euo pipefail
cd "$(dirname "$0")/.."
build_only=0
if [ "${1:-}" = "--build-only" ]; then build_only=1; shift; fi
scripts/deps.sh build fuzz
# -fsanitize=fuzzer-no-link adds libFuzzer's coverage hooks to the library; the tests do not
# notice them, and the fuzz targets link against the same objects. -O1 as the sanitizers advise
# (it compiles faster than -O3, too); NDEBUG as in the Release build.
sanitizers="-O1 -DNDEBUG -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer -gline-tables-only"
cmake -S . -B build-san -G Ninja -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_COMPILER=clang++-14 \
  -DCMAKE_CXX_FLAGS="$sanitizers -fsanitize=fuzzer-no-link" -DCMAKE_EXE_LINKER_FLAGS="-fsanitize=address,undefined" \
  -DNNTUNE_FUZZ=ON -DNNTUNE_BENCH=OFF >/dev/null
ninja -C build-san -j"$(nproc)"
[ "$build_only" = 1 ] && exit 0
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:detect_stack_use_after_return=0}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
# Sanitized code runs 2-5x slower: a longer per-test limit. install_test is left out: it checks
# the installed package (an outside project links the library without the sanitizers' runtime),
# which the plain and portable builds of scripts/test.sh test; nothing in it is C++ under test.
ctest --test-dir build-san --output-on-failure -j"$(nproc)" --timeout 1500 -E '^install_test$' "$@"
