#!/usr/bin/env bash
# End to end: tuning a network on Fashion-MNIST for BUDGET seconds on 2 cores, nntune beside
# Optuna + PyTorch, one after the other in one run so that every side gets the same machine.
# MODEL=mlp (default): examples/fashion_mnist_tune.yaml beside ../shared/anchors/optuna_fmnist.py.
# MODEL=cnn: examples/fashion_mnist_cnn_tune.yaml beside ../shared/anchors/optuna_fmnist_cnn.py.
# Both sides in the same precision: the anchor runs once per precision the nntune variants use,
# in fp32 as is and with AUTOCAST=1 (PyTorch's bf16 autocast) beside nntune's bf16 variants.
# nntune runs once per VARIANT (default "bf16 fp32" for mlp, "fp32" for cnn):
#   bf16  the example spec with train.precision=bf16 (bf16 products where the CPU runs them
#         faster, fp32 sums: an engine setting, not a hyperparameter); beside the anchor's autocast
#   fp32  the same spec and space with --set train.precision=fp32; beside the anchor in fp32
#   hyperband  (mlp) bf16 with Hyperband (min 1 epoch, factor 3) instead of the median pruner
#   wide  mlp: examples/fashion_mnist_tune_wide.yaml: a wider space (30 epochs, Hyperband,
#         batch norm, AdamW/Nesterov, cosine schedule), bf16; cnn: examples/fashion_mnist_cnn_tune_wide.yaml
#         (up to 3 blocks, 24 epochs, batch norm, augmentation, AdamW, cosine schedule), bf16
# Prints trials finished/pruned, the best validation accuracy at every minute for each side,
# and the test accuracy of each nntune side's best model (mlp: retrained from `nntune best`'s
# fixed spec, same seed, so the same model as the trial; cnn: the best trial's saved model,
# which early stopping restored to its best epoch; neither counted in the budget) and of
# Optuna's best configuration (retrained with fresh seeds, OPTUNA_SEEDS, default "0 1" for mlp
# and "0" for cnn; OPTUNA_SEEDS= skips it: the anchor keeps no model).
# nntune also keeps the models of its 20 best trials (--save-models --keep-best 20) and combines
# them by ensemble selection on the validation data (`nntune ensemble`, after the budget, a few
# seconds); its test accuracy is printed beside the best single model's.
# Usage: bench/run_fmnist_tune_bench.sh [BUDGET_S] [ANCHORS_DIR]
#        VARIANTS="fp32 bf16 wide" bench/run_fmnist_tune_bench.sh 600
#        MODEL=cnn VARIANTS="fp32 bf16" bench/run_fmnist_tune_bench.sh 600
#        ANCHOR=0 skips Optuna (to look at an nntune change alone; not a comparison).
#        BENCH_OUT=DIR keeps the run's studies, logs and models in DIR (default: a temporary directory).
#        SEED=2 gives nntune's TPE another seed (the anchor's are fixed: 0 and 1 for its 2 jobs).
#        SPEC_SEED=2 gives nntune's trials another seed (the spec's `seed`: initial weights, batch
#        order, dropout, augmentation), so that even enqueued trials train other models.
#        BENCH_OPENBLAS_CORETYPE=SkylakeX sets OPENBLAS_CORETYPE for both sides (Debian's OpenBLAS
#        0.3.21 does not recognise some newer CPUs and falls back to SSE3 kernels).
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
anchors=$(cd "${2:-../shared/anchors}" && pwd)
model=${MODEL:-mlp}
case "$model" in
  mlp) base_spec=examples/fashion_mnist_tune.yaml; anchor_script=optuna_fmnist.py
       variants=${VARIANTS:-bf16 fp32}; optuna_seeds=${OPTUNA_SEEDS-0 1} ;;
  cnn) base_spec=examples/fashion_mnist_cnn_tune.yaml; anchor_script=optuna_fmnist_cnn.py
       variants=${VARIANTS:-fp32}; optuna_seeds=${OPTUNA_SEEDS-0} ;;
  *) echo "unknown MODEL '$model': use mlp or cnn" >&2; exit 2 ;;
esac
scripts/deps.sh build data bench
scripts/build.sh >/dev/null
if [ -n "${BENCH_OUT:-}" ]; then
  tmp=$BENCH_OUT; mkdir -p "$tmp"   # kept: the studies, logs and models of the run
else
  tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fi
# Both sides single-threaded per job; OpenBLAS may use its AVX-512 kernels (see the anchors' README).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE
[ -n "${BENCH_OPENBLAS_CORETYPE:-}" ] && export OPENBLAS_CORETYPE=$BENCH_OPENBLAS_CORETYPE

results=()
for variant in $variants; do
  case "$variant" in
    bf16) spec=$base_spec; sets=(--set train.precision=bf16) ;;
    fp32) spec=$base_spec; sets=(--set train.precision=fp32) ;;
    hyperband) spec=$base_spec
               sets=(--set train.precision=bf16 --set 'tune.pruner={name: hyperband, min_resource: 1, reduction_factor: 3}') ;;
    wide) spec=${base_spec%.yaml}_wide.yaml; sets=() ;;
    *) echo "unknown variant '$variant': use bf16, fp32, hyperband or wide" >&2; exit 2 ;;
  esac
  if [ "$model" = cnn ] && [ "$variant" = hyperband ]; then
    echo "MODEL=cnn takes the variants fp32, bf16 and wide" >&2; exit 2
  fi
  # The anchor runs in the precision of the variant (both wide specs ask for bf16).
  if [ "$variant" = fp32 ]; then need_fp32=1; else need_bf16=1; fi
  [ -n "${SEED:-}" ] && sets+=(--set "tune.sampler.seed=$SEED")
  [ -n "${SPEC_SEED:-}" ] && sets+=(--set "seed=$SPEC_SEED")
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
  best_number=$(build/nntune best fmnist --storage "$db" --format json | /usr/bin/python3 -c 'import json,sys; print(json.load(sys.stdin)["number"])')
  best_model="$tmp/$variant.models/trial_$best_number/model.nnt"
  if [ "$model" = cnn ] && [ -f "$best_model" ]; then
    build/nntune eval "$best_model" --spec "$tmp/$variant.best.yaml" --format json 2>/dev/null |
      /usr/bin/python3 -c 'import json,sys; print("test: accuracy", json.load(sys.stdin)["metrics"]["accuracy"])' \
      >"$tmp/$variant.train.txt" || true
  else
    build/nntune train "$tmp/$variant.best.yaml" --output "$tmp/$variant.best" --quiet >"$tmp/$variant.train.txt" 2>&1
  fi
  test_acc=$(grep -oE 'test: .*accuracy [0-9.]+' "$tmp/$variant.train.txt" | grep -oE '[0-9.]+$' || echo "?")
  results+=("$variant" "$tmp/$variant.trials.json" "$start" "$test_acc" "$ensemble_acc")
done

anchor_logs=()
if [ "${ANCHOR:-1}" != 0 ]; then
  for precision in fp32 bf16; do
    [ "$precision" = fp32 ] && [ -z "${need_fp32:-}" ] && continue
    [ "$precision" = bf16 ] && [ -z "${need_bf16:-}" ] && continue
    autocast=0; [ "$precision" = bf16 ] && autocast=1
    echo "== Optuna + PyTorch ($precision): AUTOCAST=$autocast $anchor_script $budget 2 1"
    log="$tmp/optuna.$precision.log"
    (cd "$anchors" && AUTOCAST=$autocast /usr/bin/python3 -W ignore "$anchor_script" "$budget" 2 1) >"$log" 2>&1 || true
    grep -E '^(wall|best params)' "$log" || true
    anchor_logs+=("$precision" "$log")
    # The anchor keeps no model: retrain its best configuration (fresh seeds) for a test accuracy.
    best_params=$(sed -n 's/^best params //p' "$log")
    if [ -n "$best_params" ] && [ -n "$optuna_seeds" ]; then
      echo "== Optuna's best configuration ($precision) retrained in PyTorch fp32 (bench/optuna_best_test.py), test accuracy"
      # shellcheck disable=SC2086
      /usr/bin/python3 -W ignore bench/optuna_best_test.py "$anchors" "$best_params" --anchor "${anchor_script%.py}" $optuna_seeds 2>&1 |
        tee "$tmp/optuna_best_test.$precision.txt" || true
    fi
  done
fi

/usr/bin/python3 - "$budget" "${#anchor_logs[@]}" "${anchor_logs[@]}" "${results[@]}" <<'PY'
import json, sys, ast
budget, n_logs = int(sys.argv[1]), int(sys.argv[2])
anchor_logs, rest = sys.argv[3:3 + n_logs], sys.argv[3 + n_logs:]
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
for j in range(0, len(anchor_logs), 2):
    precision, optuna_log = anchor_logs[j], anchor_logs[j + 1]
    curve_line = [l for l in open(optuna_log) if l.startswith("curve")]
    summary = [l.strip() for l in open(optuna_log) if l.startswith("wall")]
    print(f"optuna {precision}:", summary[0] if summary else "no result")
    if curve_line:
        opt_events = [(float(a), float(b)) for a, b in ast.literal_eval(curve_line[0][len("curve "):])]
        columns.append((f"optuna-{precision}", opt_events))
fmt = lambda v: f"{v:.4f}" if v is not None else "-"
print(f"{'minute':>6} " + " ".join(f"{name:>12}" for name, _ in columns))
for m in range(1, budget // 60 + 1):
    print(f"{m:>6} " + " ".join(f"{fmt(best_at(ev, 60 * m)):>12}" for _, ev in columns))
print(f"{'end':>6} " + " ".join(f"{fmt(best_at(ev, 1e9)):>12}" for _, ev in columns) + "   (trials running at the deadline finish)")
PY
