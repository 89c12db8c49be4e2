#!/usr/bin/env bash
# nntune as a C++ dependency: `cmake --install` of a build into a temporary prefix, then
# examples/cpp built against it as an outside project (find_package(nntune CONFIG)) and through
# pkg-config, and run. With --portable, also checks that the installed library runs on any
# x86-64: AVX/AVX-512 instructions appear only in the kernels chosen at run time by CPU detection.
# Usage: tests/install_test.sh SOURCE_DIR BUILD_DIR WORK_DIR [--portable]
set -euo pipefail
src=$(cd "$1" && pwd) build=$2 work=$3 portable=${4:-}
rm -rf "$work"
mkdir -p "$work"
work=$(cd "$work" && pwd)
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null

"$prefix/bin/nntune" --version
test -f "$prefix/include/nntune/onnx.hpp"
if grep -rq -- "-march=native" "$prefix"; then
  echo "FAILED: -march=native in what is installed:" >&2; grep -rl -- "-march=native" "$prefix" >&2; exit 1
fi

# 1. An outside CMake project: find_package(nntune CONFIG) and nntune::nntune.
cmake -S "$src/examples/cpp" -B "$work/examples" -G Ninja -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$prefix" >/dev/null
cmake --build "$work/examples" -j2 >/dev/null
cd "$work"
examples/ask_tell memory 5 >/dev/null
examples/define_by_run memory 5 >/dev/null
examples/train_and_export "$work"
# A YAML spec tuned from C++ (tune_spec): the data and spec written here, three trials.
python3 -c 'import sys
sys.stdout.write("a,b,label\n" + "".join("%d.%d,%d.%d,%d\n" % (i % 2 * 3, i % 7, 1 - i % 2 * 2, i % 5, i % 2) for i in range(40)))' > two_class.csv
printf 'data:\n  train: {csv: {path: two_class.csv, label: label}}\n  validation: {split: 0.25}\n  scale: standard\nmodel: {hidden: [{units: {int: [2, 8]}}]}\ntrain: {epochs: 5, optimizer: {name: adam, lr: 0.05}}\ntune: {sampler: random}\n' > tune.yaml
examples/tune_spec tune.yaml 3 | grep -q "^best: trial"
"$prefix/bin/nntune" export model.nnt -o cli.onnx >/dev/null
cmp model.onnx cli.onnx  # the library and the installed CLI write the same bytes

# 2. pkg-config, as a Makefile would use it.
pc=$(dirname "$(find "$prefix" -name nntune.pc)")
flags=$(PKG_CONFIG_PATH=$pc pkg-config --cflags --libs nntune)
mkdir -p pc
g++ -O1 -o pc/train_and_export "$src/examples/cpp/train_and_export.cpp" $flags
pc/train_and_export pc >/dev/null
# Every installed header, included from the installed tree alone: none reaches for a private
# header under src/ (one translation unit, to keep this quick).
(cd "$prefix/include" && find nntune -name '*.hpp' | sort | sed 's/.*/#include <&>/') > pc/headers.cpp
g++ -fsyntax-only pc/headers.cpp $(PKG_CONFIG_PATH=$pc pkg-config --cflags nntune) ||
  { echo "FAILED: the installed headers do not compile from the installed tree alone" >&2; exit 1; }

# 3. Portable: 256/512-bit vector registers appear only in the object files of the kernels
# dispatched at run time by CPU detection (gemm_bf16, *_avx2, *_avx512).
if [ "$portable" = "--portable" ]; then
  lib=$(find "$prefix" -name libnntune.a)
  # The GEMM kernels (gemm_bf16, gemm_fp32), the direct convolution (conv_direct) and max pooling's
  # forward (max_pool2d_kernels) put their wide instructions only in functions with a target
  # attribute, called after CPU detection (nn/gemm.cpp, conv2d's use_direct, max_pool_forward);
  # every other object must have none.
  objdump -d --no-show-raw-insn -C "$lib" | awk '
    /file format/ { object = $1; next }
    /^[0-9a-f]+ <.*>:$/ { name = $0; next }
    /%[yz]mm[0-9]/ && object !~ /bf16|gemm_fp32|conv_direct|max_pool2d_kernels|avx2|avx512/ && !(name in seen) { seen[name] = 1; print object, name }' > wide.txt
  if [ -s wide.txt ]; then
    echo "FAILED: AVX instructions outside the dispatched kernels (the library would crash on older CPUs):" >&2
    head -20 wide.txt >&2
    exit 1
  fi
  # ... and those objects share no code with the rest: no weak (merged at link time) symbol
  # outside their own namespaces, or the linker could hand a baseline caller AVX-512 code.
  nm -C -A --defined-only "$lib" | grep -E "_avx(2|512)\.cpp\.o:" | awk '$2 ~ /^[WVu]$/' |
    grep -v -E "nntune_eigen_avx|::avx(2|512)::" > shared.txt || true
  if [ -s shared.txt ]; then
    echo "FAILED: the per-level kernels define symbols the linker may merge with baseline code:" >&2
    head -20 shared.txt >&2
    exit 1
  fi
  echo "portable: AVX instructions only in the dispatched kernels"
fi
echo ok
