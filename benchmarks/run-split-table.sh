#!/usr/bin/env bash
# Split Fashion-MNIST (5 experiences x 2 classes, MLP 784-400-400-10, Adam
# 1e-3, batch 128, 1 epoch, seed 0): naive, cumulative and joint in class-,
# task- and domain-incremental (split) settings.  Prints a table of average
# accuracy and forgetting; results in build/bench/split-table/.
set -euo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
bash scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
out=build/bench/split-table
mkdir -p "$out"
for scen in class task domain; do
  for strat in naive cumulative joint; do
    ./build/framework/lifelong run benchmarks/runs/split-fmnist-naive-class.json --quiet --threads "$THREADS" \
      --set scenario.type=$scen-incremental --set strategy.name=$strat --out "$out/$scen-$strat.json"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
d = sys.argv[1]
fmt = lambda v: "-" if v is None else f"{v:.4f}"
print("| scenario | strategy | average accuracy | forgetting | BWT | final row | wall s |")
print("|---|---|---|---|---|---|---|")
for scen in ("class", "task", "domain"):
    for strat in ("naive", "cumulative", "joint"):
        r = json.load(open(f"{d}/{scen}-{strat}.json"))
        m = r["metrics"]
        row = " ".join(f"{v:.3f}" for v in r["matrix"][-1])
        print(f"| {scen}-incremental | {strat} | {fmt(m['average_accuracy'])} | {fmt(m['average_forgetting'])} | "
              f"{fmt(m['bwt'])} | {row} | {r['time_s']['total']:.2f} |")
PY
