#!/usr/bin/env bash
# The study report at scale: writes a synthetic 10,000-trial study to SQLite
# (bench/report_bench_study.cpp), times `nntune report` on it, and loads the page in headless
# Chromium: the page's own timings (navigation to the end of its script, to the load event) and
# the wall time of a whole headless render beside that of an empty page (Chromium's start-up).
#   bench/run_report_bench.sh [TRIALS]        (needs: scripts/deps.sh browser; builds in build/)
set -euo pipefail
cd "$(dirname "$0")/.."
trials=${1:-10000}
build=${BUILD_DIR:-build}
[ -x "$build/nntune" ] && [ -x "$build/report_bench_study" ] || ninja -C "$build" nntune_cli report_bench_study
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "run_report_bench: no chromium (scripts/deps.sh browser)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$build/report_bench_study" "sqlite:///$work/big.db" big "$trials"

now() { date +%s.%N; }
t0=$(now)
"$build/nntune" report --storage "sqlite:///$work/big.db" --study big -o "$work/report.html"
t1=$(now)
size=$(stat -c %s "$work/report.html")

chrome() {
  timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$work/profile" --hide-scrollbars "$@" 2>/dev/null
}
echo '<!DOCTYPE html><html><body>empty</body></html>' >"$work/empty.html"
chrome --dump-dom "file://$work/empty.html" >/dev/null  # warm the profile and the disk cache
best_of3() {  # the fastest of three runs of: chrome ARGS (seconds)
  local best=999
  for _ in 1 2 3; do
    local a b
    a=$(now)
    chrome "$@" >/dev/null
    b=$(now)
    best=$(python3 -c "print(min($best, $b - $a))")
  done
  echo "$best"
}
empty_s=$(best_of3 --dump-dom "file://$work/empty.html")
report_s=$(best_of3 --dump-dom "file://$work/report.html")
shot_s=$(best_of3 --screenshot="$work/shot.png" --window-size=1280,4000 "file://$work/report.html")
marker=$(chrome --dump-dom "file://$work/report.html" | grep -o '<div id="selfcheck"[^>]*>')

python3 - "$trials" "$t0" "$t1" "$size" "$empty_s" "$report_s" "$shot_s" "$marker" <<'EOF'
import re, sys
trials, t0, t1, size, empty, report, shot, marker = sys.argv[1:]
attr = lambda name: re.search(name + r'="([^"]*)"', marker).group(1)
print(f"trials                       {trials}")
print(f"nntune report (SQLite read + page)  {float(t1) - float(t0):.2f} s")
print(f"report.html size             {int(size) / 1e6:.1f} MB")
print(f"page: script done after      {attr('data-script-ms')} ms, load event after {attr('data-load-ms')} ms")
print(f"headless chromium --dump-dom {float(report):.2f} s (empty page {float(empty):.2f} s: +{float(report) - float(empty):.2f} s for the report)")
print(f"headless screenshot 1280x4000 {float(shot):.2f} s")
print(f"self-check                   errors {attr('data-errors')}, plots {attr('data-plots')}, empty plots {attr('data-empty-plots')}")
EOF
