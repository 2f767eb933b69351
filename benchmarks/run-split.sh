#!/usr/bin/env bash
# Whole-process time and peak memory of one split Fashion-MNIST run
# (naive, class-incremental, 5x2, MLP 784-400-400-10, 1 epoch, 2 threads):
# `lifelong run` beside a bare PyTorch loop doing the same work, same BLIS
# kernel set and threads, interleaved REPEAT times; the best time counts.
# Targets (the runs issue): lifelong <= 0.6x PyTorch's time, peak RSS < 120 MB.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
THREADS=${THREADS:-2}
bash scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
arch_id=$(./build/framework/lifelong --version | sed -n 's/.*BLIS_ARCH_TYPE=\([0-9]*\).*/\1/p')
mkdir -p build/bench
out=build/bench/split.tsv
: > "$out"
for r in $(seq "$REPEAT"); do
  /usr/bin/time -f "lifelong\t%e\t%M" -a -o "$out" \
    ./build/framework/lifelong run benchmarks/runs/split-fmnist-naive-class.json --threads "$THREADS" \
      --out build/bench/split-lifelong.json --quiet
  OMP_NUM_THREADS=$THREADS BLIS_NUM_THREADS=$THREADS BLIS_ARCH_TYPE=$arch_id \
    /usr/bin/time -f "pytorch\t%e\t%M" -a -o "$out" \
    /usr/bin/python3 benchmarks/split_torch.py > build/bench/split-torch.json
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
best = {}
for line in open(sys.argv[1]):
    impl, t, kb = line.split("\t")
    t, mb = float(t), int(kb) / 1024
    b = best.setdefault(impl, [t, mb])
    b[0], b[1] = min(b[0], t), min(b[1], mb)
l, p = best["lifelong"], best["pytorch"]
ra = json.load(open("build/bench/split-lifelong.json"))["metrics"]["average_accuracy"]
pa = json.load(open("build/bench/split-torch.json"))["average_accuracy"]
print("| | wall s | peak RSS MB | average accuracy |")
print("|---|---|---|---|")
print(f"| lifelong | {l[0]:.2f} | {l[1]:.0f} | {ra:.4f} |")
print(f"| PyTorch (bare loop) | {p[0]:.2f} | {p[1]:.0f} | {pa:.4f} |")
print(f"time ratio lifelong/PyTorch: {l[0] / p[0]:.2f} (target <= 0.6); peak RSS {l[1]:.0f} MB (target < 120)")
PY
