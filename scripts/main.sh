#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, build, tune a convolutional network on
# Fashion-MNIST into a SQLite study (examples/fashion_mnist_cnn_tune_wide.yaml: 10 minutes, 2
# jobs), then write the study's HTML report, the best trial's spec and an ensemble of the best
# trials' models. Of the studies in examples/ this one gives the best model in its 10 minutes
# (docs/benchmarks.md, "End to end: tuning a CNN"): the anchor's smaller CNN space
# (SPEC=examples/fashion_mnist_cnn_tune.yaml) and the MLP study (SPEC=examples/fashion_mnist_tune.yaml)
# stay as examples.
# Extra arguments go to `nntune tune` (e.g. --timeout 2m, --jobs 1, --trials 20).
# Environment: SPEC, STORAGE (default sqlite:///nntune.db), STUDY (default the spec's name),
# REPORT (default STUDY_report.html). Running it again resumes the same study.
# The models of the 20 best trials stay in ${STUDY}_models/ (the others are removed as trials end).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build data
scripts/build.sh
spec=${SPEC:-examples/fashion_mnist_cnn_tune_wide.yaml}
storage=${STORAGE:-sqlite:///nntune.db}
study=${STUDY:-$(basename "$spec" .yaml)}
report=${REPORT:-${study}_report.html}
build/nntune tune "$spec" --storage "$storage" --study "$study" \
  --save-models "${study}_models" --keep-best 20 "$@"
build/nntune report --storage "$storage" --study "$study" -o "$report"
build/nntune best "$study" --storage "$storage" --spec-out "${study}_best.yaml"
# Not fatal: a study whose trials ran without --save-models (an older run) has no models to combine.
build/nntune ensemble "$study" --storage "$storage" --models "${study}_models" -o "${study}_ensemble.nnt" ||
  echo "(no ensemble written)"
echo "report: $report   best spec: ${study}_best.yaml (nntune train ${study}_best.yaml)   ensemble: ${study}_ensemble.nnt"
