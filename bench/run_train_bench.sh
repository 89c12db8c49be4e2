#!/usr/bin/env bash
# Training throughput of the MLP 784-256-128-10 (ReLU, Adam lr 1e-3) on Fashion-MNIST:
# nntune beside PyTorch (the anchor ../shared/anchors/torch_mlp.py), one thread each, batch
# sizes 32, 128 and 512, in one run. Prints samples/s of both, the ratio and peak memory, and
# nntune with train.precision: bf16 beside PyTorch under bf16 autocast (bench/torch_autocast.py
# runs the anchor unmodified inside torch.autocast("cpu", torch.bfloat16)).
# Usage: bench/run_train_bench.sh [EPOCHS] [ANCHORS_DIR]
# NNTUNE_BENCH_BUILD=build-portable measures another build dir's train_bench (e.g. the portable
# -DNNTUNE_NATIVE=OFF build, see README "nntune as a C++ dependency").
#
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for both sides (see the anchors' README):
# they hold OpenBLAS, used by Debian's PyTorch and by nntune, to AVX2 kernels on this machine.
# BENCH_OPENBLAS_CORETYPE=SkylakeX sets OPENBLAS_CORETYPE for both sides instead (Debian's
# OpenBLAS 0.3.21 does not recognise some newer CPUs and falls back to its SSE3 kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-3}
anchors=${2:-../shared/anchors}
scripts/deps.sh build data bench
scripts/build.sh >/dev/null

anchors=$(cd "$anchors" && pwd)
coretype=()
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && coretype=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS_CORETYPE")
run() {  # run CMD... -> prints the command's stdout, then "peak_kb N"
  env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE "${coretype[@]}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    /usr/bin/time -f "peak_kb %M" "$@" 2>&1
}
best_rate() { grep -oE '[0-9]+ samples/s' | awk '{ if ($1 > m) m = $1 } END { print m + 0 }'; }
last_acc() { grep -oE 'test_acc [0-9.]+' | tail -1 | awk '{ print $2 }'; }
peak_mb() { grep -oE 'peak_kb [0-9]+' | awk '{ printf "%.0f", $2 / 1024 }'; }

printf '%-6s %14s %14s %7s %10s %10s %9s %9s %10s %12s %7s %9s %9s\n' batch nntune_sps torch_sps ratio nntune_MB torch_MB \
  nn_acc torch_acc bf16_sps autocast_sps ratio bf16_acc ac_acc
for batch in 32 128 512; do
  n_out=$(run "${NNTUNE_BENCH_BUILD:-build}/train_bench" "$batch" "$epochs")
  t_out=$(cd "$anchors" && run /usr/bin/python3 torch_mlp.py 1 "$epochs" "$batch" 256,128)
  b_out=$(run "${NNTUNE_BENCH_BUILD:-build}/train_bench" "$batch" "$epochs" bf16 || true)  # fails on a CPU without AVX512_BF16
  a_out=$(run /usr/bin/python3 bench/torch_autocast.py "$anchors" torch_mlp.py 1 "$epochs" "$batch" 256,128)
  n_sps=$(echo "$n_out" | best_rate); t_sps=$(echo "$t_out" | best_rate); b_sps=$(echo "$b_out" | best_rate)
  a_sps=$(echo "$a_out" | best_rate)
  printf '%-6s %14s %14s %7.2f %10s %10s %9s %9s %10s %12s %7.2f %9s %9s\n' "$batch" "$n_sps" "$t_sps" \
    "$(echo "$n_sps $t_sps" | awk '{ print $1 / $2 }')" "$(echo "$n_out" | peak_mb)" "$(echo "$t_out" | peak_mb)" \
    "$(echo "$n_out" | last_acc)" "$(echo "$t_out" | last_acc)" \
    "$b_sps" "$a_sps" "$(echo "$b_sps $a_sps" | awk '{ print $1 / $2 }')" "$(echo "$b_out" | last_acc)" "$(echo "$a_out" | last_acc)"
done
echo "samples/s: best epoch of $epochs; peak memory: maximum resident set of the whole process"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
