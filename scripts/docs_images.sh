#!/usr/bin/env bash
# Regenerates the screenshots in docs/images/ from runs made in the repository root, so that the
# pages show repository-relative paths only (no home directories, no /tmp):
#   docs/images/tuning-report.png    nntune tune examples/fashion_mnist_tune.yaml --trials 30
#                                    --set train.epochs=3, then nntune report (the top of the page)
#   docs/images/training-report.png  nntune train examples/fashion_mnist_mlp.yaml
# Needs the Fashion-MNIST data (scripts/deps.sh data) and chromium (scripts/deps.sh browser);
# takes several minutes on one core. The runs stay in runs/docs-images/ (ignored by git); a study
# there is resumed, not repeated.
# Usage: scripts/docs_images.sh [NNTUNE_BINARY]   (default: build/nntune)
set -euo pipefail
cd "$(dirname "$0")/.."
nntune=${1:-build/nntune}
dir=runs/docs-images
mkdir -p "$dir"
browser=$(command -v chromium || command -v chromium-browser || command -v google-chrome || true)
[ -n "$browser" ] || { echo "docs_images.sh: no chromium (scripts/deps.sh browser)" >&2; exit 1; }

shot() {  # HTML PNG HEIGHT
  timeout 120 "$browser" --headless=new --no-sandbox --disable-gpu --disable-dev-shm-usage --hide-scrollbars \
    --user-data-dir="$dir/profile" --window-size=1280,"$3" --screenshot="$2" "file://$PWD/$1" >/dev/null 2>&1
  echo "wrote $2"
}

"$nntune" tune examples/fashion_mnist_tune.yaml --trials 30 --timeout 30m --jobs 1 --set train.epochs=3 \
  --storage "sqlite:///$dir/study.db" --quiet
"$nntune" report fashion_mnist_tune --storage "sqlite:///$dir/study.db" -o "$dir/tuning-report.html"
shot "$dir/tuning-report.html" docs/images/tuning-report.png 2400

"$nntune" train examples/fashion_mnist_mlp.yaml -o "$dir/fashion_mnist_mlp" --quiet
shot "$dir/fashion_mnist_mlp/report.html" docs/images/training-report.png 1960
