#!/usr/bin/env bash
# One command for every test on a fresh Debian machine: install, build, run the whole suite.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build data
scripts/build.sh
ctest --test-dir build --output-on-failure -j"$(nproc)" --timeout 600
