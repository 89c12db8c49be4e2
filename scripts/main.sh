#!/usr/bin/env bash
# The main job on a fresh Debian machine: install, build, train an MLP on Fashion-MNIST.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh build data
scripts/build.sh
build/nntune train examples/fashion_mnist_mlp.yaml "$@"
