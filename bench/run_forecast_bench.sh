#!/usr/bin/env bash
# One-step-ahead forecasting of the weekly Mauna Loa CO2 series (statsmodels' co2.csv, window 52,
# last 20% test, the latest 20% of the rest validation): the PyTorch anchor
# (../shared/anchors/torch_forecast.py: an LSTM, repeat-the-last-value and a least-squares linear
# AR on the same window) beside nntune on the same split, one thread each, in one run. nntune
# runs examples/co2_forecast.yaml as written (LSTM-32 with model.forecast), the same network
# without the forecasting options (the anchor's plain LSTM), and, when TUNE_TRIALS > 0, a study
# of examples/co2_forecast_tune.yaml whose best trial is retrained and scored on the test weeks.
# Usage: bench/run_forecast_bench.sh [EPOCHS] [TUNE_TRIALS] [ANCHORS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
epochs=${1:-30}
trials=${2:-0}
anchors=$(cd "${3:-../shared/anchors}" && pwd)
csv=/usr/lib/python3/dist-packages/statsmodels/datasets/co2/co2.csv
scripts/deps.sh build data bench
[ -x build/nntune ] || scripts/build.sh >/dev/null
nntune=$(pwd)/build/nntune
run() { env -u OPENBLAS_L2_SIZE -u OPENBLAS_CORETYPE OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 "$@" 2>&1; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== PyTorch anchor: torch_forecast.py $csv co2 52 lstm 32 $epochs 1"
run /usr/bin/python3 "$anchors/torch_forecast.py" "$csv" co2 52 lstm 32 "$epochs" 1 | tail -1

rmse_of() { grep -E '^test:' | grep -oE 'rmse [0-9.]+' | awk '{ print $2 }'; }
echo "== nntune examples/co2_forecast.yaml (lstm 32, forecast: delta, normalize last, linear skip)"
start=$(date +%s.%N)
out=$(run "$nntune" train examples/co2_forecast.yaml --set train.epochs="$epochs" --output "$work/forecast" --quiet --no-report)
echo "$out" | grep -E '^(test|stopped):'
echo "nntune forecast test RMSE: $(echo "$out" | rmse_of)  ($(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s for the whole run)"
echo "== nntune plain LSTM-32 (no model.forecast, as the anchor's network)"
out=$(run "$nntune" train examples/co2_forecast.yaml --set train.epochs="$epochs" --set model.forecast.target=value \
  --set model.forecast.normalize=none --set model.forecast.skip=none --set 'model.layers[1].kernel_init=xavier_uniform' \
  --output "$work/plain" --quiet --no-report)
echo "nntune plain LSTM test RMSE: $(echo "$out" | rmse_of)"
echo "== nntune LSTM-32 with normalize: last only (no skip path, no delta)"
out=$(run "$nntune" train examples/co2_forecast.yaml --set train.epochs="$epochs" --set model.forecast.target=value \
  --set model.forecast.skip=none --output "$work/norm" --quiet --no-report)
echo "nntune normalize-last LSTM test RMSE: $(echo "$out" | rmse_of)"

if [ "$trials" -gt 0 ]; then
  echo "== nntune tune examples/co2_forecast_tune.yaml, $trials trials (scored on validation), best retrained"
  (cd "$work" && run "$nntune" tune "$OLDPWD/examples/co2_forecast_tune.yaml" --trials "$trials" \
     --storage "sqlite:///$work/tune.db" --quiet >/dev/null || true)
  (cd "$work" && run "$nntune" best co2_forecast_tune --storage "sqlite:///$work/tune.db" --spec-out best.yaml | tail -3)
  out=$(cd "$work" && run "$nntune" train best.yaml --output "$work/best" --quiet --no-report)
  echo "$out" | grep -E '^(test|stopped):'
  echo "nntune tuned test RMSE: $(echo "$out" | rmse_of)"
fi
