#!/usr/bin/env bash
# The HTML reports in a real browser: tunes the wine example for 6 trials, trains a small spec,
# writes both reports and renders them with headless Chromium. Fails on any JavaScript error or
# on a plot that drew nothing (the page's own self-check writes
# <div id="selfcheck" data-errors=.. data-empty-plots=..> into the DOM), or when sorting the table,
# zooming a plot or showing a tooltip does not work (the page tries them with #interact), or when a
# chart of a 14-parameter study is wider than its card at 1280 px. Screenshots are kept in
# ARTIFACTS (build/test-artifacts/report.png and training-report.png).
# Usage: report_browser_test.sh NNTUNE_BINARY SOURCE_DIR ARTIFACTS_DIR
# Exits 77 (ctest SKIP) when chromium is not installed (scripts/deps.sh browser installs it;
# scripts/test.sh does so), or when NNTUNE_SKIP_BROWSER=1.
set -euo pipefail
nntune=$1 source_dir=$2 artifacts=$3

if [ "${NNTUNE_SKIP_BROWSER:-}" = "1" ]; then
  echo "SKIP: NNTUNE_SKIP_BROWSER=1 (scripts/test.sh --no-browser)"
  exit 77
fi
browser=""
for candidate in chromium chromium-browser google-chrome; do
  if command -v "$candidate" >/dev/null 2>&1; then browser=$(command -v "$candidate"); break; fi
done
if [ -z "$browser" ]; then
  echo "SKIP: no chromium found (install it with scripts/deps.sh browser)"
  exit 77
fi
wine_csv=/usr/lib/python3/dist-packages/sklearn/datasets/data/wine_data.csv
if [ ! -f "$wine_csv" ]; then
  echo "SKIP: $wine_csv is missing (install it with scripts/deps.sh data)"
  exit 77
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$artifacts"
cd "$work"

# Chromium as root needs --no-sandbox; its own profile keeps runs independent.
chrome() {
  timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage \
    --user-data-dir="$work/profile" --hide-scrollbars "$@"
}

fail() {
  echo "FAIL: $*" >&2
  exit 1
}

# Renders one page: the DOM after load (self-check) with the console on stderr, then a screenshot.
check_page() {
  local page=$1 screenshot=$2 min_plots=$3
  chrome --enable-logging=stderr --v=0 --dump-dom "file://$page" >dom.html 2>console.txt || fail "chromium failed on $page: $(tail -5 console.txt)"
  local marker
  marker=$(grep -o '<div id="selfcheck"[^>]*>' dom.html || true)
  [ -n "$marker" ] || fail "$page: no self-check marker in the DOM (the page's script did not run to its end)"
  echo "self-check of $(basename "$page"): $marker"
  local errors empty plots
  errors=$(sed -n 's/.*data-errors="\([0-9]*\)".*/\1/p' <<<"$marker")
  empty=$(sed -n 's/.*data-empty-plots="\([0-9]*\)".*/\1/p' <<<"$marker")
  plots=$(sed -n 's/.*data-plots="\([0-9]*\)".*/\1/p' <<<"$marker")
  [ "$errors" = "0" ] || fail "$page: $errors JavaScript errors: $marker"
  [ "$empty" = "0" ] || fail "$page: $empty plots drew nothing: $marker"
  [ "$plots" -ge "$min_plots" ] || fail "$page: only $plots plots, expected at least $min_plots"
  if grep -E 'Uncaught|CONSOLE.*(Error|error)' console.txt; then fail "$page: JavaScript errors on the console (above)"; fi
  # The page sorts its table, zooms a plot and shows a tooltip by itself with #interact.
  chrome --dump-dom "file://$page#interact" >dom.html 2>/dev/null || fail "chromium failed on $page#interact"
  marker=$(grep -o '<div id="selfcheck"[^>]*>' dom.html || true)
  grep -q 'data-interact="ok"' <<<"$marker" || fail "$page: interactions failed: $marker"
  grep -q 'data-errors="0"' <<<"$marker" || fail "$page: JavaScript errors while interacting: $marker"
  chrome --screenshot="$screenshot" --window-size=1280,4000 "file://$page" >/dev/null 2>&1 || fail "screenshot of $page failed"
  [ -s "$screenshot" ] || fail "no screenshot written to $screenshot"
  echo "screenshot: $screenshot"
}

"$nntune" tune "$source_dir/examples/wine_tune.yaml" --trials 6 --storage "sqlite:///$work/study.db" --quiet \
  || fail "nntune tune failed"
"$nntune" report --storage "sqlite:///$work/study.db" --study wine_tune -o "$work/report.html" || fail "nntune report failed"
# history x2, curves, parallel coordinates, importance, a slice per parameter, contour, table
check_page "$work/report.html" "$artifacts/report.png" 8

"$nntune" train "$source_dir/examples/wine_classification.yaml" --set train.epochs=8 -o "$work/run" --quiet \
  || fail "nntune train failed"
[ -f "$work/run/report.html" ] || fail "nntune train wrote no report.html in its output directory"
# loss, accuracy, learning rate, confusion matrix
check_page "$work/run/report.html" "$artifacts/training-report.png" 4

# A study of 14 parameters (long names, categorical choices with long labels) at a 1280 px
# window: every chart, parallel coordinates included, stays inside its card.
cat >wide.yaml <<'YAML'
space:
  optimizer_learning_rate: {float: [1.0e-5, 1.0e-1], log: true}
  optimizer_weight_decay: {float: [1.0e-7, 1.0e-2], log: true}
  initialiser: {choice: [xavier_uniform, xavier_normal, he_uniform, he_normal, lecun_normal, orthogonal]}
  activation_of_the_hidden_layers: {choice: [relu, tanh, leaky_relu, elu, gelu, sigmoid]}
  dropout: {float: [0.0, 0.5]}
  batch_size: {choice: [16, 32, 64, 128, 256, 512]}
  units_first: {int: [16, 1024], log: true}
  units_second: {int: [16, 1024], log: true}
  momentum: {float: [0.0, 0.99]}
  label_smoothing: {float: [0.0, 0.2]}
  warmup_epochs: {int: [0, 5]}
  clip_norm: {float: [0.1, 10.0], log: true}
  schedule: {choice: [constant, step, exponential, cosine]}
  seed_offset: {int: [0, 100]}
tune:
  objective: {command: "echo nntune: value {dropout}", direction: minimize}
  sampler: {name: random, seed: 3}
  trials: 24
YAML
"$nntune" tune wide.yaml --storage "sqlite:///$work/wide.db" --quiet || fail "nntune tune of the wide study failed"
"$nntune" report wide --storage "sqlite:///$work/wide.db" -o "$work/wide.html" >/dev/null || fail "nntune report (wide) failed"
chrome --window-size=1280,3000 --dump-dom "file://$work/wide.html" >dom.html 2>/dev/null || fail "chromium failed on wide.html"
marker=$(grep -o '<div id="selfcheck"[^>]*>' dom.html || true)
echo "self-check of wide.html: $marker"
grep -q 'data-errors="0"' <<<"$marker" || fail "wide.html: JavaScript errors: $marker"
grep -q 'data-empty-plots="0"' <<<"$marker" || fail "wide.html: empty plots: $marker"
grep -q 'data-wide-plots=""' <<<"$marker" || fail "wide.html: plots wider than their card at 1280 px: $marker"
chrome --screenshot="$artifacts/wide-report.png" --window-size=1280,3000 "file://$work/wide.html" >/dev/null 2>&1 || true

# An empty study: a clear message, no broken plot, no error.
"$nntune" report --storage "sqlite:///$work/empty.db" --study nothing -o "$work/empty.html" >/dev/null 2>&1 \
  && fail "a report of a missing study should fail"
echo "PASS: both reports render without JavaScript errors; screenshots in $artifacts"
