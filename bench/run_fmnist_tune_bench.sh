#!/usr/bin/env bash
# End to end: tuning an MLP on Fashion-MNIST for BUDGET seconds on 2 cores, nntune beside
# Optuna + PyTorch (../shared/anchors/optuna_fmnist.py BUDGET 2 1) in the same search space
# (examples/fashion_mnist_tune.yaml mirrors the anchor's), one after the other in one run.
# Prints trials finished/pruned, the best validation accuracy at every minute for both, and the
# test accuracy of nntune's best model (retrained from `nntune best`'s fixed spec: same seed,
# so the same model as the trial).
# Usage: bench/run_fmnist_tune_bench.sh [BUDGET_S] [ANCHORS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
budget=${1:-600}
anchors=$(cd "${2:-../shared/anchors}" && pwd)
scripts/deps.sh build data bench
scripts/build.sh >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Both sides single-threaded per job; OpenBLAS may use its AVX-512 kernels (see the anchors' README).
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
unset OPENBLAS_CORETYPE OPENBLAS_L2_SIZE

echo "== nntune: tune for ${budget}s, 2 jobs"
start=$(date +%s.%N)
build/nntune tune examples/fashion_mnist_tune.yaml --timeout "${budget}s" --jobs 2 \
  --storage "sqlite:///$tmp/nntune.db" --study fmnist >"$tmp/nntune.log" 2>&1 || true
tail -2 "$tmp/nntune.log"
build/nntune trials fmnist --storage "sqlite:///$tmp/nntune.db" --format json >"$tmp/trials.json"
build/nntune best fmnist --storage "sqlite:///$tmp/nntune.db" --spec-out "$tmp/best.yaml" >"$tmp/best.txt"
build/nntune train "$tmp/best.yaml" --output "$tmp/best" --quiet >"$tmp/best_train.txt" 2>&1
nn_test=$(grep -oE 'test: .*accuracy [0-9.]+' "$tmp/best_train.txt" | grep -oE '[0-9.]+$' || echo "?")

echo "== Optuna + PyTorch: optuna_fmnist.py $budget 2 1"
(cd "$anchors" && /usr/bin/python3 -W ignore optuna_fmnist.py "$budget" 2 1) >"$tmp/optuna.log" 2>&1 || true
head -1 "$tmp/optuna.log"

/usr/bin/python3 - "$tmp/trials.json" "$start" "$tmp/optuna.log" "$budget" "$nn_test" <<'PY'
import json, sys, ast
trials, start, optuna_log, budget, nn_test = json.load(open(sys.argv[1])), float(sys.argv[2]), sys.argv[3], int(sys.argv[4]), sys.argv[5]
# nntune: like the anchor, a finished trial counts with its value, a pruned one with its best report.
events = []
for t in trials:
    if t["state"] not in ("complete", "pruned"): continue
    v = t["value"] if t.get("value") is not None else max(t["intermediate"].values(), default=0.0)
    events.append((t["end"] - start, v))
events.sort()
def best_at(events, s):
    vals = [v for (when, v) in events if when <= s]
    return max(vals) if vals else None
states = [t["state"] for t in trials]
curve_line = [l for l in open(optuna_log) if l.startswith("curve")]
opt_events = [(float(a), float(b)) for a, b in ast.literal_eval(curve_line[0][len("curve "):])] if curve_line else []
summary = [l.strip() for l in open(optuna_log) if l.startswith("wall")]
print(f"nntune: {len(trials)} trials, {states.count('complete')} complete, {states.count('pruned')} pruned, "
      f"{states.count('failed')} failed; best val acc {best_at(events, 1e9)}; best model test acc {nn_test}")
print("optuna:", summary[0] if summary else "no result")
print(f"{'minute':>6} {'nntune':>8} {'optuna':>8}")
fmt = lambda v: f"{v:.4f}" if v is not None else "-"
for m in range(1, budget // 60 + 1):
    print(f"{m:>6} {fmt(best_at(events, 60 * m)):>8} {fmt(best_at(opt_events, 60 * m)):>8}")
print(f"{'end':>6} {fmt(best_at(events, 1e9)):>8} {fmt(best_at(opt_events, 1e9)):>8}   (trials running at the deadline finish)")
PY
