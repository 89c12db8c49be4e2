#!/usr/bin/env bash
# Storage throughput beside Optuna: trials per second for N trials of a cheap objective (random
# sampler, 2 floats) run by 1, 2 and 4 worker PROCESSES sharing one study, on SQLite (a file in a
# temp dir) and on PostgreSQL (a private server from scripts/with_postgres.sh), for nntune
# (bench/storage_bench.cpp through nntune::tune::Study) and Optuna's RDBStorage
# (bench/optuna_storage_bench.py) on the same kinds of databases.
# Usage: bench/run_storage_bench.sh [N] [OPTUNA_N]   (defaults 1000 and N; OPTUNA_N=0 skips Optuna)
# Times are wall clock from starting the workers to the last one's exit (process start included:
# about 1.2 s for Python to import Optuna, a few ms for nntune).
# Needs: scripts/deps.sh build bench postgres (python3-optuna, python3-psycopg2, postgresql).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-1000}
optuna_n=${2:-$n}
build=${NNTUNE_BUILD_DIR:-build}

if [ -z "${NNTUNE_TEST_POSTGRES_URL:-}" ]; then  # start a private server and run again beside it
  scripts/deps.sh build bench postgres
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release >/dev/null
  ninja -C "$build" -j"$(nproc)" storage_bench >/dev/null
  exec scripts/with_postgres.sh "$0" "$@"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pg=$NNTUNE_TEST_POSTGRES_URL
# Optuna's SQLAlchemy URL for the same server and database.
optuna_pg=${pg/postgresql:\/\//postgresql+psycopg2://}

# run SIDE BACKEND WORKERS COUNT URL: prints "SIDE BACKEND WORKERS trials seconds"
run() {
  local side=$1 backend=$2 workers=$3 count=$4 url=$5 study="bench" cmd
  if [ "$side" = nntune ]; then cmd=("$build/storage_bench"); else cmd=(/usr/bin/python3 -W ignore bench/optuna_storage_bench.py); fi
  "${cmd[@]}" "$url" "$study" --create
  local start end pids=()
  start=$(date +%s.%N)
  for w in $(seq 1 "$workers"); do "${cmd[@]}" "$url" "$study" "$count" "$w" & pids+=($!); done
  for p in "${pids[@]}"; do wait "$p"; done
  end=$(date +%s.%N)
  echo "$side $backend $workers $count $(awk -v a="$start" -v b="$end" 'BEGIN { print b - a }')"
}

results=$tmp/results
for workers in 1 2 4; do
  run nntune sqlite "$workers" "$n" "sqlite:///$tmp/nntune_$workers.db" >>"$results"
  run nntune postgresql "$workers" "$n" "$pg?schema=bench_nntune_$workers" >>"$results"
  [ "$optuna_n" -gt 0 ] || continue
  run optuna sqlite "$workers" "$optuna_n" "sqlite:///$tmp/optuna_$workers.db" >>"$results"
  # Optuna's tables go into a database of their own (the same server).
  psql -X -q "$pg" -c "CREATE DATABASE optuna_$workers" >/dev/null
  run optuna postgresql "$workers" "$optuna_n" "${optuna_pg%/*}/optuna_$workers" >>"$results"
done

echo
echo "Trials per second, $n trials (Optuna: $optuna_n) of a cheap objective, random sampler, worker processes sharing one study"
awk '
  { tps[$1 " " $2 " " $3] = $4 / $5 }
  END {
    printf "%-11s %8s %14s %14s %8s\n", "storage", "workers", "nntune", "optuna", "ratio"
    split("sqlite postgresql", backends, " ")
    for (b = 1; b <= 2; ++b) for (w = 1; w <= 4; w *= 2) {
      n = tps["nntune " backends[b] " " w]; o = tps["optuna " backends[b] " " w]
      if (o > 0) printf "%-11s %8d %14.1f %14.1f %7.1fx\n", backends[b], w, n, o, n / o
      else printf "%-11s %8d %14.1f %14s %8s\n", backends[b], w, n, "-", "-"
    }
  }' "$results"
