#!/usr/bin/env bash
# The installable build (-DNNTUNE_NATIVE=OFF, in build-portable) beside the native one (build):
# CPU seconds (user + system) of `train_bench BATCH EPOCHS` for the native build, the portable
# build, and the portable build held to its baseline kernels (NNTUNE_SIMD=baseline), interleaved,
# one thread each. CPU time rather than samples/s so that a busy machine's waiting does not count.
# Usage: bench/run_portable_bench.sh [EPOCHS] [ROUNDS]   (builds both directories first)
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-2}
rounds=${2:-3}
scripts/deps.sh build data bench
scripts/build.sh >/dev/null
cmake -S . -B build-portable -G Ninja -DCMAKE_BUILD_TYPE=Release -DNNTUNE_NATIVE=OFF -DNNTUNE_BENCH=ON >/dev/null
ninja -C build-portable -j"$(nproc)" train_bench >/dev/null

cpu() {  # CMD... -> user + system seconds
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    /usr/bin/time -f "cpu %U %S" "$@" 2>&1 >/dev/null | awk '/^cpu/ { print $2 + $3 }'
}
printf '%-5s %-6s %10s %10s %10s %16s %16s\n' round batch native_s portable_s baseline_s portable_speed baseline_speed
for round in $(seq "$rounds"); do
  for batch in 32 128 512; do
    n=$(cpu build/train_bench "$batch" "$epochs")
    p=$(cpu build-portable/train_bench "$batch" "$epochs")
    b=$(NNTUNE_SIMD=baseline cpu build-portable/train_bench "$batch" "$epochs")
    printf '%-5s %-6s %10s %10s %10s %16.3f %16.3f\n' "$round" "$batch" "$n" "$p" "$b" \
      "$(echo "$n $p" | awk '{ print $1 / $2 }')" "$(echo "$n $b" | awk '{ print $1 / $2 }')"
  done
done
echo "speed = native CPU seconds / the build's CPU seconds (1: as fast as the native build)"
