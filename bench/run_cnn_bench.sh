#!/usr/bin/env bash
# Training and inference throughput of the anchor's CNN on Fashion-MNIST (conv3x3 32 same - relu -
# maxpool2 - conv3x3 64 same - relu - maxpool2 - dense 128 relu - dense 10, Adam 1e-3): nntune
# (bench/cnn_bench.cpp) beside PyTorch (../shared/anchors/torch_cnn.py for training,
# bench/torch_cnn_inference.py for inference), one thread each, fp32 against fp32 and nntune's
# bf16 (train.precision: bf16) against PyTorch's bf16 autocast, in one run, REPEATS times.
# Usage: bench/run_cnn_bench.sh [EPOCHS] [REPEATS] [BATCH] [ANCHORS_DIR]
#
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for both sides (see the anchors' README), unless
# BENCH_OPENBLAS_CORETYPE is given: then both sides run with OPENBLAS_CORETYPE set to it (on a CPU
# that Debian's OpenBLAS 0.3.21 does not know, e.g. a Sapphire Rapids Xeon, it falls back to its
# SSE3 "Prescott" kernels, which slows PyTorch's dense layers; SkylakeX gives both sides AVX-512).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-1}
repeats=${2:-2}
batch=${3:-128}
anchors=$(cd "${4:-../shared/anchors}" && pwd)
scripts/deps.sh build data bench
scripts/build.sh >/dev/null

coretype=(-u OPENBLAS_CORETYPE)
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && coretype=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS_CORETYPE")
run() {  # run CMD... -> the command's stdout, then "peak_kb N"
  env -u OPENBLAS_L2_SIZE "${coretype[@]}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 \
    /usr/bin/time -f "peak_kb %M" "$@" 2>&1
}
best_rate() { grep -E '^epoch' | grep -oE '[0-9]+ samples/s' | awk '{ if ($1 > m) m = $1 } END { print m + 0 }'; }
infer_rate() { grep -E '^inference' | grep -oE '[0-9]+ samples/s' | awk '{ print $1 + 0 }'; }
last_acc() { grep -oE 'test_acc [0-9.]+' | tail -1 | awk '{ print $2 }'; }
peak_mb() { grep -oE 'peak_kb [0-9]+' | awk '{ printf "%.0f", $2 / 1024 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }

echo "OPENBLAS_CORETYPE: ${BENCH_OPENBLAS_CORETYPE:-unset}"
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-3s %-5s %10s %10s %6s %10s %10s %6s %8s %8s %7s %7s\n' rep prec nn_train torch_train ratio nn_infer \
  torch_infer ratio nn_MB torch_MB nn_acc t_acc
for rep in $(seq 1 "$repeats"); do
  for prec in fp32 bf16; do
    autocast=0
    [ "$prec" = bf16 ] && autocast=1
    n_out=$(run build/cnn_bench "$batch" "$epochs" "$prec" || true)  # bf16 fails without AVX512_BF16
    [ "$rep" = 1 ] && echo "$n_out" | grep -E '^gemm' >&2
    t_out=$(cd "$anchors" && AUTOCAST=$autocast run /usr/bin/python3 torch_cnn.py 1 "$epochs" "$batch")
    ti_out=$(AUTOCAST=$autocast run /usr/bin/python3 bench/torch_cnn_inference.py "$anchors" 1 "$batch")
    n_tr=$(echo "$n_out" | best_rate); t_tr=$(echo "$t_out" | best_rate)
    n_in=$(echo "$n_out" | infer_rate); t_in=$(echo "$ti_out" | infer_rate)
    printf '%-3s %-5s %10s %10s %6s %10s %10s %6s %8s %8s %7s %7s\n' "$rep" "$prec" "$n_tr" "$t_tr" "$(ratio "$n_tr" "$t_tr")" \
      "$n_in" "$t_in" "$(ratio "$n_in" "$t_in")" "$(echo "$n_out" | peak_mb)" "$(echo "$t_out" | peak_mb)" \
      "$(echo "$n_out" | last_acc)" "$(echo "$t_out" | last_acc)"
  done
done
echo "train: samples/s of the best of $epochs epoch(s) of 60,000 images; infer: best of 3 passes over the 10,000"
echo "test images in batches of $batch; MB: peak resident memory of the training process; bf16 rows: nntune"
echo "train.precision bf16 against PyTorch under AUTOCAST=1."
