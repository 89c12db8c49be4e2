#!/usr/bin/env bash
# Training throughput of the anchor's recurrent classifier on Fashion-MNIST (each image as 28
# steps of 28 pixels, one rnn/lstm/gru layer of HIDDEN units, its last step -> dense 10, Adam 1e-3,
# gradient norm clipped at 1): nntune (bench/rnn_bench.cpp) beside PyTorch
# (../shared/anchors/torch_rnn.py), one thread each, one after the other in the same run,
# REPEATS times per cell. fp32 against fp32; with BENCH_PRECISIONS="fp32 bf16" also nntune's
# train.precision bf16 against PyTorch under AUTOCAST=1.
# torch_per_cpu_s: PyTorch run a second time with its epoch timer on CPU time
# (bench/torch_cpu_rate.py), beside nntune's own samples per CPU-second: the ratio of those two
# depends much less on the machine's load than the wall-clock one.
# Usage: bench/run_rnn_bench.sh [EPOCHS] [REPEATS] [BATCH] [HIDDEN] [CELLS] [ANCHORS_DIR]
#   CELLS: a space-separated list, default "lstm gru rnn".
# OPENBLAS_CORETYPE / OPENBLAS_L2_SIZE are unset for both sides (see the anchors' README), unless
# BENCH_OPENBLAS_CORETYPE is given: then both sides run with OPENBLAS_CORETYPE set to it. Debian's
# OpenBLAS 0.3.21 does not know the Xeon here and falls back to its SSE3 "Prescott" kernels, which
# is what PyTorch's recurrent layers multiply with; SkylakeX gives PyTorch AVX-512 (nntune uses
# its own AVX-512 GEMM either way).
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-1}
repeats=${2:-1}
batch=${3:-128}
hidden=${4:-128}
cells=${5:-lstm gru rnn}
anchors=$(cd "${6:-../shared/anchors}" && pwd)
precisions=${BENCH_PRECISIONS:-fp32}
scripts/deps.sh build data bench
scripts/build.sh >/dev/null

coretype=(-u OPENBLAS_CORETYPE)
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && coretype=(OPENBLAS_CORETYPE="$BENCH_OPENBLAS_CORETYPE")
run() {  # run CMD... -> the command's stdout and stderr
  env -u OPENBLAS_L2_SIZE "${coretype[@]}" OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$@" 2>&1
}
best_rate() { grep -E '^epoch' | grep -oE '[0-9]+ samples/s' | awk '{ if ($1 > m) m = $1 } END { print m + 0 }'; }
best_cpu_rate() { grep -E '^cpu epoch' | grep -oE '[0-9]+ samples per cpu-s' | awk '{ if ($1 > m) m = $1 } END { print m + 0 }'; }
last_acc() { grep -oE 'test_acc [0-9.]+' | tail -1 | awk '{ print $2 }'; }
ratio() { echo "$1 $2" | awk '{ printf "%.2f", ($2 > 0 ? $1 / $2 : 0) }'; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "OPENBLAS_CORETYPE: ${BENCH_OPENBLAS_CORETYPE:-unset}"
echo "commit: $(git rev-parse --short HEAD)$(git diff --quiet || echo '+changes'), hidden $hidden, batch $batch, $epochs epoch(s)"
printf '%-3s %-5s %-5s %10s %10s %6s %12s %14s %6s %7s %7s %s\n' rep cell prec nn_train torch_train ratio nn_per_cpu_s \
  torch_per_cpu_s ratio nn_acc t_acc load
for rep in $(seq 1 "$repeats"); do
  for cell in $cells; do
    for prec in $precisions; do
      autocast=0
      [ "$prec" = bf16 ] && autocast=1
      n_out=$(run build/rnn_bench "$batch" "$epochs" "$cell" "$hidden" "$prec" || true)  # bf16 needs AVX512_BF16
      t_out=$(cd "$anchors" && AUTOCAST=$autocast run /usr/bin/python3 torch_rnn.py 1 "$epochs" "$batch" "$cell" "$hidden")
      tc_out=$(AUTOCAST=$autocast run /usr/bin/python3 bench/torch_cpu_rate.py "$anchors" torch_rnn.py 1 "$epochs" "$batch" \
        "$cell" "$hidden")
      n_tr=$(echo "$n_out" | best_rate); t_tr=$(echo "$t_out" | best_rate)
      n_cpu=$(echo "$n_out" | best_cpu_rate); t_cpu=$(echo "$tc_out" | best_rate)
      printf '%-3s %-5s %-5s %10s %10s %6s %12s %14s %6s %7s %7s %s\n' "$rep" "$cell" "$prec" "$n_tr" "$t_tr" \
        "$(ratio "$n_tr" "$t_tr")" "$n_cpu" "$t_cpu" "$(ratio "$n_cpu" "$t_cpu")" "$(echo "$n_out" | last_acc)" \
        "$(echo "$t_out" | last_acc)" "$(cut -d' ' -f1 /proc/loadavg)"
    done
  done
done
echo "train: samples/s of the best of $epochs epoch(s) of 60,000 images (wall clock); nn_per_cpu_s: nntune's"
echo "training samples per CPU-second of its process, torch_per_cpu_s PyTorch's (less sensitive to the load);"
echo "accuracy on the 10,000 test images after the last epoch."
