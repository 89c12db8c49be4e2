#!/usr/bin/env bash
# Installs everything nntune needs from Debian's packages. Idempotent: does nothing when all
# packages are present. Usage: scripts/deps.sh [build|data|bench|browser|postgres|fuzz]...  (default: build)
set -euo pipefail

build_packages=(g++ cmake ninja-build pkg-config libeigen3-dev libyaml-cpp-dev nlohmann-json3-dev
  libcli11-dev zlib1g-dev libsqlite3-dev libpq-dev libopenblas-dev libgtest-dev libgmock-dev libbenchmark-dev
  libboost-dev)  # Boost: Boost.Random's Sobol direction numbers (header-only)
# ONNX export: protobuf and Debian's onnx.proto schema; its test reads the file with python3-onnx.
build_packages+=(libprotobuf-dev protobuf-compiler libonnx-dev python3-onnx python3-numpy)
build_packages+=(python3-yaml)  # tests/deploy_test.py parses the Kubernetes manifest
data_packages=(dataset-fashion-mnist python3-sklearn python3-statsmodels)  # Fashion-MNIST IDX files; sklearn's CSVs for the examples; statsmodels' weekly CO2 series (co2_forecast)
bench_packages=(python3-torch python3-optuna python3-psycopg2 python3-numpy time)  # the anchors beside nntune
postgres_packages=(postgresql)  # a private server for the PostgreSQL storage tests (scripts/with_postgres.sh)
browser_packages=(chromium)  # headless rendering of the HTML reports (report_browser_test, report bench)
fuzz_packages=(clang-14 libclang-rt-14-dev)  # libFuzzer, ASan and UBSan (scripts/fuzz.sh, scripts/sanitize.sh)

wanted=()
[ $# -eq 0 ] && set -- build
for group in "$@"; do
  case "$group" in
    build) wanted+=("${build_packages[@]}") ;;
    data) wanted+=("${data_packages[@]}") ;;
    bench) wanted+=("${bench_packages[@]}") ;;
    browser) wanted+=("${browser_packages[@]}") ;;
    postgres) wanted+=("${postgres_packages[@]}") ;;
    fuzz) wanted+=("${fuzz_packages[@]}") ;;
    *) echo "deps.sh: unknown group '$group' (use build, data, bench, browser, postgres or fuzz)" >&2; exit 2 ;;
  esac
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
[ "$(id -u)" -ne 0 ] && sudo="sudo"
echo "deps.sh: installing ${missing[*]}" >&2
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
