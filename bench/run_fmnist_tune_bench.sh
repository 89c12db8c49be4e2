#!/usr/bin/env bash
# End to end: tuning an MLP on Fashion-MNIST for BUDGET seconds on 2 cores, nntune beside
# Optuna + PyTorch (../shared/anchors/optuna_fmnist.py BUDGET 2 1), one after the other in one
# run so that every side gets the same (otherwise idle) machine.
# nntune runs once per VARIANT (default "bf16 fp32"):
#   bf16  examples/fashion_mnist_tune.yaml: the anchor's search space and pruner, bf16 GEMM
#         operands with fp32 accumulation (an engine setting, not a hyperparameter)
#   fp32  the same spec and space with --set train.precision=fp32
#   hyperband  bf16 with Hyperband (min 1 epoch, factor 3) instead of the median pruner
#   wide  examples/fashion_mnist_tune_wide.yaml: a wider space (30 epochs, Hyperband, batch
#         norm, AdamW/Nesterov, cosine schedule), bf16
# Prints trials finished/pruned, the best validation accuracy at every minute for each side,
# and the test accuracy of each nntune side's best model (retrained from `nntune best`'s fixed
# spec: same seed, so the same model as the trial; the retraining is not counted in the budget)
# and of Optuna's best configuration (retrained twice with fresh seeds: the anchor keeps no model).
# nntune also keeps the models of its 20 best trials (--save-models --keep-best 20) and combines
# them by ensemble selection on the validation data (`nntune ensemble`, after the budget, a few
# seconds); its test accuracy is printed beside the best single model's.
# Usage: bench/run_fmnist_tune_bench.sh [BUDGET_S] [ANCHORS_DIR]
#        VARIANTS="fp32 bf16 wide" bench/run_fmnist_tune_bench.sh 600
#        ANCHOR=0 skips Optuna (to look at an nntune change alone; not a comparison).
#        SEED=2 gives nntune's TPE another seed (the anchor's are fixed: 0 and 1 for its 2 jobs).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
anchors=$(cd "${2:-../shared/anchors}" && pwd)
variants=${VARIANTS:-bf16 fp32}
scripts/deps.sh build data bench
scripts/build.sh >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Both sides single-threaded per job; OpenBLAS may use its AVX-512 kernels (see the anchors' README).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

results=()
for variant in $variants; do
  case "$variant" in
    bf16) spec=examples/fashion_mnist_tune.yaml; sets=(--set train.precision=bf16) ;;
    fp32) spec=examples/fashion_mnist_tune.yaml; sets=(--set train.precision=fp32) ;;
    hyperband) spec=examples/fashion_mnist_tune.yaml
               sets=(--set train.precision=bf16 --set 'tune.pruner={name: hyperband, min_resource: 1, reduction_factor: 3}') ;;
    wide) spec=examples/fashion_mnist_tune_wide.yaml; sets=() ;;
    *) echo "unknown variant '$variant': use bf16, fp32, hyperband or wide" >&2; exit 2 ;;
  esac
  [ -n "${SEED:-}" ] && sets+=(--set "tune.sampler.seed=$SEED")
  echo "== nntune ($variant): tune $spec ${sets[*]} for ${budget}s, 2 jobs"
  db="sqlite:///$tmp/$variant.db"
  start=$(date +%s.%N)
  build/nntune tune "$spec" "${sets[@]}" --timeout "${budget}s" --jobs 2 --storage "$db" --study fmnist \
    --save-models "$tmp/$variant.models" --keep-best 20 >"$tmp/$variant.log" 2>&1 || true
  tail -2 "$tmp/$variant.log"
  build/nntune ensemble fmnist --storage "$db" --models "$tmp/$variant.models" -o "$tmp/$variant.ensemble.nnt" \
    >"$tmp/$variant.ensemble.txt" 2>&1 || true
  sed 's/^/  ensemble: /' "$tmp/$variant.ensemble.txt"
  ensemble_acc=$(grep -oE '^test: loss [0-9.]+  accuracy [0-9.]+' "$tmp/$variant.ensemble.txt" | grep -oE '[0-9.]+$' || echo "?")
  build/nntune trials fmnist --storage "$db" --format json >"$tmp/$variant.trials.json"
  build/nntune best fmnist --storage "$db" --spec-out "$tmp/$variant.best.yaml" >"$tmp/$variant.best.txt"
  build/nntune train "$tmp/$variant.best.yaml" --output "$tmp/$variant.best" --quiet >"$tmp/$variant.train.txt" 2>&1
  test_acc=$(grep -oE 'test: .*accuracy [0-9.]+' "$tmp/$variant.train.txt" | grep -oE '[0-9.]+$' || echo "?")
  results+=("$variant" "$tmp/$variant.trials.json" "$start" "$test_acc" "$ensemble_acc")
done

if [ "${ANCHOR:-1}" != 0 ]; then
  echo "== Optuna + PyTorch: optuna_fmnist.py $budget 2 1"
  (cd "$anchors" && /usr/bin/python3 -W ignore optuna_fmnist.py "$budget" 2 1) >"$tmp/optuna.log" 2>&1 || true
  grep -E '^(wall|best params)' "$tmp/optuna.log" || true
  # The anchor keeps no model: retrain its best configuration (two fresh seeds) for a test accuracy.
  best_params=$(sed -n 's/^best params //p' "$tmp/optuna.log")
  if [ -n "$best_params" ]; then
    echo "== Optuna's best configuration retrained in PyTorch (bench/optuna_best_test.py), test accuracy"
    /usr/bin/python3 -W ignore bench/optuna_best_test.py "$anchors" "$best_params" 0 1 2>&1 | tee "$tmp/optuna_best_test.txt" || true
  fi
else
  : >"$tmp/optuna.log"
fi

/usr/bin/python3 - "$budget" "$tmp/optuna.log" "${results[@]}" <<'PY'
import json, sys, ast
budget, optuna_log, rest = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
def best_at(events, s):
    vals = [v for (when, v) in events if when <= s]
    return max(vals) if vals else None
columns = []
for i in range(0, len(rest), 5):
    variant, trials_file, start, test_acc, ensemble_acc = rest[i], rest[i + 1], float(rest[i + 2]), rest[i + 3], rest[i + 4]
    trials = json.load(open(trials_file))
    # Like the anchor: a finished trial counts with its value, a pruned one with its best report.
    events = []
    for t in trials:
        if t["state"] not in ("complete", "pruned"): continue
        v = t["value"] if t.get("value") is not None else max(t["intermediate"].values(), default=0.0)
        events.append((t["end"] - start, v))
    states = [t["state"] for t in trials]
    print(f"nntune {variant}: {len(trials)} trials, {states.count('complete')} complete, {states.count('pruned')} pruned, "
          f"{states.count('failed')} failed; best val acc {best_at(events, 1e9)}; best model test acc {test_acc}; "
          f"ensemble of the best trials' models test acc {ensemble_acc}")
    columns.append((f"nntune-{variant}", events))
curve_line = [l for l in open(optuna_log) if l.startswith("curve")]
if curve_line:
    opt_events = [(float(a), float(b)) for a, b in ast.literal_eval(curve_line[0][len("curve "):])]
    summary = [l.strip() for l in open(optuna_log) if l.startswith("wall")]
    print("optuna:", summary[0] if summary else "no result")
    columns.append(("optuna", opt_events))
fmt = lambda v: f"{v:.4f}" if v is not None else "-"
print(f"{'minute':>6} " + " ".join(f"{name:>12}" for name, _ in columns))
for m in range(1, budget // 60 + 1):
    print(f"{m:>6} " + " ".join(f"{fmt(best_at(ev, 60 * m)):>12}" for _, ev in columns))
print(f"{'end':>6} " + " ".join(f"{fmt(best_at(ev, 1e9)):>12}" for _, ev in columns) + "   (trials running at the deadline finish)")
PY
