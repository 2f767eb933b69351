#!/usr/bin/env bash
# The README's main command: installs the dependencies, builds lifelong and
# runs the main job.  Today that is the engine benchmark (lifelong vs PyTorch
# on an MLP epoch of Fashion-MNIST); the default benchmark matrix and its
# leaderboard report take its place when `lifelong matrix` and `lifelong
# report` land (see docs/roadmap in the issues).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
./build/framework/lifelong --version
bash benchmarks/run-engine.sh
echo "results: build/bench/engine.json"
