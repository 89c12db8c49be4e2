#!/usr/bin/env bash
# Samplers beside Optuna (the anchors in ../shared/anchors), in one run.
#   quality:  median regret (best found - optimum) after N trials over SEEDS seeds on branin,
#             hartmann6, rosenbrock5, styblinski4, ackley5; nntune random, sobol, tpe, tpe-mv, gp
#             beside Optuna random, tpe, tpe-mv, cmaes.
#   overhead: milliseconds per trial at 100, 200, 500, 1000, 2000 finished trials (5 floats, cheap
#             objective): nntune tpe, tpe-mv (and gp up to 1000) beside Optuna tpe.
# Usage: bench/run_sampler_bench.sh [quality|overhead|all] [N] [SEEDS] [ANCHORS_DIR]
# Optuna's quality runs take several minutes (about 10 on 2 cores); its overhead run about 3.
set -euo pipefail
cd "$(dirname "$0")/.."
what=${1:-all}
n=${2:-100}
seeds=${3:-20}
anchors=$(cd "${4:-../shared/anchors}" && pwd)
build=${NNTUNE_BUILD_DIR:-build}
functions="branin hartmann6 rosenbrock5 styblinski4 ackley5"
nntune_quality_samplers="random sobol tpe tpe-mv gp"
optuna_quality_samplers="random tpe tpe-mv cmaes"

cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
ninja -C "$build" -j"$(nproc)" sampler_quality sampler_overhead >/dev/null
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# "FUNC SAMPLER n=.. seeds=.. median_regret X mean Y" lines -> "side FUNC SAMPLER X"
collect() { awk -v side="$1" '/median_regret/ { print side, $1, $2, $6 }'; }

if [[ $what == quality || $what == all ]]; then
  for s in $nntune_quality_samplers; do
    "$build/sampler_quality" "$s" "$n" "$seeds" $functions 2>"$tmp/err" | collect nntune >>"$tmp/quality" ||
      echo "nntune $s: $(tail -1 "$tmp/err")" >&2
  done
  for s in $optuna_quality_samplers; do
    (cd "$anchors" && /usr/bin/python3 -W ignore optuna_quality.py "$s" "$n" "$seeds" $functions 2>/dev/null) | collect optuna >>"$tmp/quality"
  done
  echo "Median regret after $n trials over $seeds seeds (lower is better)"
  awk -v fns="$functions" '
    { v[$1 " " $3 " " $2] = $4; if (!(($1 " " $3) in seen)) { seen[$1 " " $3] = 1; cols[++nc] = $1 " " $3 } }
    END {
      nf = split(fns, f, " ")
      printf "%-12s", "function"
      for (c = 1; c <= nc; ++c) { split(cols[c], p, " "); printf " %13s", (p[1] == "nntune" ? "nn:" : "opt:") p[2] }
      printf " %10s %10s %7s\n", "nn_best", "opt_best", "ratio"
      for (i = 1; i <= nf; ++i) {
        printf "%-12s", f[i]; nb = ""; ob = ""
        for (c = 1; c <= nc; ++c) {
          key = cols[c] " " f[i]; x = (key in v) ? v[key] : "-"; printf " %13s", x
          split(cols[c], p, " ")
          if (x != "-" && p[1] == "nntune" && p[2] != "random" && (nb == "" || x + 0 < nb + 0)) nb = x
          if (x != "-" && p[1] == "optuna" && p[2] != "random" && (ob == "" || x + 0 < ob + 0)) ob = x
        }
        printf " %10s %10s %7.2f\n", nb, ob, (ob + 0 > 0 ? (nb + 0) / (ob + 0) : 0)
      }
      print "nn_best / opt_best: best non-random sampler of each side; ratio < 1: nntune lower regret"
    }' "$tmp/quality"
  echo
fi

if [[ $what == overhead || $what == all ]]; then
  marks() { awk '/trials:/ { sub(":", "", $1); print $1, $6 }'; }  # "K ms_per_trial"
  "$build/sampler_overhead" tpe 2000 5 | marks >"$tmp/nn_tpe"
  "$build/sampler_overhead" tpe-mv 2000 5 | marks >"$tmp/nn_tpe_mv"
  "$build/sampler_overhead" gp 1000 5 2>/dev/null | marks >"$tmp/nn_gp" || true
  (cd "$anchors" && /usr/bin/python3 -W ignore optuna_overhead.py tpe 2000 5 2>/dev/null) | marks >"$tmp/opt_tpe"
  echo "Sampler overhead, ms per trial over the block ending at K finished trials (5 floats)"
  printf '%-6s %10s %10s %10s %12s %10s\n' K nn_tpe nn_tpe_mv nn_gp optuna_tpe opt/nn_tpe
  for k in 100 200 500 1000 2000; do
    get() { awk -v k="$k" '$1 == k { print $2 }' "$1"; }
    a=$(get "$tmp/nn_tpe"); b=$(get "$tmp/nn_tpe_mv"); g=$(get "$tmp/nn_gp"); o=$(get "$tmp/opt_tpe")
    printf '%-6s %10s %10s %10s %12s %10s\n' "$k" "${a:--}" "${b:--}" "${g:--}" "${o:--}" \
      "$(awk -v a="${a:-0}" -v o="${o:-0}" 'BEGIN { if (a > 0) printf "%.0fx", o / a; else print "-" }')"
  done
fi
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
