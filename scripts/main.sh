#!/usr/bin/env bash
# The README's main command: installs the dependencies, builds lifelong and
# runs the main job.  Until `lifelong matrix` and `lifelong report` land (the
# matrix issue), the main job is: the split Fashion-MNIST table (naive,
# cumulative, joint x class-, task-, domain-incremental), then the engine and
# whole-run benchmarks against PyTorch.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
./build/framework/lifelong --version
echo "== split Fashion-MNIST =="
bash benchmarks/run-split-table.sh
echo "== engine: one MLP epoch, lifelong vs PyTorch =="
bash benchmarks/run-engine.sh
echo "== one whole run, lifelong vs a bare PyTorch loop =="
bash benchmarks/run-split.sh
echo "results: build/bench/"
