#!/usr/bin/env bash
# Peak memory of series windows (docs/benchmarks.md, "Series windows"): a synthetic series of
# 200,000 rows x 4 columns, window 256, trained for one epoch (a linear model on the flattened
# window, so the run measures the data's memory, not the network's time), then predicted and
# evaluated over the whole file; peak RSS and CPU time from /usr/bin/time -v, one thread.
# Usage: bench/run_series_memory_bench.sh [NNTUNE] [OTHER_NNTUNE]   (e.g. a build of main to compare)
set -euo pipefail
cd "$(dirname "$0")/.."
binaries=("$(realpath "${1:-build/nntune}")")
if [ $# -ge 2 ]; then binaries+=("$(realpath "$2")"); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 - "$work/long.csv" <<'PY'
import math, random, sys
random.seed(0)
with open(sys.argv[1], "w") as f:
    f.write("t,a,b,c,d\n")
    a = 0.0
    for r in range(200000):
        a = 0.9 * a + random.gauss(0, 1)
        b = math.sin(r * 0.013) + 0.1 * random.gauss(0, 1)
        f.write(f"{r},{a:.6f},{b:.6f},{0.5 * a + b:.6f},{math.cos(r * 0.0021) * 3 + 0.05 * r / 1000:.6f}\n")
PY
cat > "$work/long.yaml" <<'YAML'
seed: 0
data:
  train:
    series: {path: long.csv, time: t, values: [a, b, c, d], targets: [c], window: 256, horizon: 1}
  validation: {last: 0.1}
  test: {last: 0.1}
  scale: standard
model:
  layers:
    - {type: flatten}
    - {type: dense, units: 1}
  forecast: {target: delta, normalize: last}
train:
  loss: mse
  optimizer: {name: adam, lr: 0.001}
  batch_size: 256
  epochs: 1
YAML
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
cd "$work"
for i in "${!binaries[@]}"; do
  nntune=${binaries[$i]}
  echo "== $nntune"
  for step in "train long.yaml --output out$i --quiet --no-report" "predict out$i/model.nnt long.csv -o f$i.csv" \
              "eval out$i/model.nnt long.csv"; do
    /usr/bin/time -v "$nntune" $step > /dev/null 2> time.txt
    printf '%-60s peak RSS %8s kB, user %6s s\n' "${step%% *}" \
      "$(awk -F': ' '/Maximum resident/ {print $2}' time.txt)" "$(awk -F': ' '/User time/ {print $2}' time.txt)"
  done
done
if [ ${#binaries[@]} -eq 2 ]; then
  cmp -s f0.csv f1.csv && echo "forecasts identical" || echo "forecasts DIFFER"
fi
