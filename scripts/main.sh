#!/usr/bin/env bash
# The README's main command: installs the dependencies, builds lifelong, runs
# the default benchmark matrix (benchmarks/default.json: classic methods on
# split Fashion-MNIST, class- and task-incremental, 3 seeds) and writes its
# leaderboard report.  A rerun resumes: finished cells are not run again.
#   OUT=results/default JOBS=2 bash scripts/main.sh
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-results/default}
JOBS=${JOBS:-2}
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build
./build/framework/lifelong --version
start=$(date +%s)
status=0
./build/framework/lifelong matrix benchmarks/default.json --out "$OUT" -j "$JOBS" || status=$?
echo "matrix wall time: $(( $(date +%s) - start )) s (-j $JOBS)"
./build/framework/lifelong report "$OUT"
echo "report: $OUT/report/index.html (leaderboard: $OUT/report/leaderboard.md)"
[ -f "$OUT/report/leaderboard.md" ] && cat "$OUT/report/leaderboard.md" | head -60
exit $status
