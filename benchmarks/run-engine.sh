#!/usr/bin/env bash
# The engine benchmark: lifelong's MLP epoch (bench-mlp) beside the same
# model in Debian's PyTorch, at 1 and 2 threads, in one invocation, with the
# same BLIS kernel set and thread count for both.  Each configuration runs
# REPEAT times, interleaved, and the best time counts (the machines are
# noisy).  Writes build/bench/engine.json and prints a table of ratios.
# Targets (the engine issue): lifelong >= 1.1x PyTorch's samples/s at 1 and
# 2 threads; a training step <= 1.15x the time of its GEMMs alone.
set -euo pipefail
cd "$(dirname "$0")/.."
REPEAT=${REPEAT:-3}
bash scripts/install-deps.sh --bench
[ -f build/build.ninja ] || meson setup build >/dev/null
ninja -C build >/dev/null
arch_id=$(./build/framework/lifelong --version | sed -n 's/.*BLIS_ARCH_TYPE=\([0-9]*\).*/\1/p')
mkdir -p build/bench
out=build/bench/engine.jsonl
: > "$out"
for r in $(seq "$REPEAT"); do
  for t in 1 2; do
    LIFELONG_THREADS=$t ./build/benchmarks/bench-mlp --threads "$t" >> "$out"
    OMP_NUM_THREADS=$t BLIS_NUM_THREADS=$t BLIS_ARCH_TYPE=$arch_id \
      /usr/bin/python3 benchmarks/mlp_torch.py --threads "$t" >> "$out"
  done
done
/usr/bin/python3 - "$out" <<'PY'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
best = {}
for r in rows:
    k = (r["impl"], r["threads"])
    if k not in best or r["train_s"] < best[k]["train_s"]:
        best[k] = r
summary = {}
print("| threads | lifelong samples/s | PyTorch samples/s | ratio (target >= 1.1) | step / GEMMs alone (target <= 1.15) | test acc lifelong / torch |")
print("|---|---|---|---|---|---|")
for t in (1, 2):
    l, p = best[("lifelong", t)], best[("pytorch", t)]
    ratio = l["samples_per_s"] / p["samples_per_s"]
    summary[t] = {"lifelong": l, "pytorch": p, "ratio": ratio}
    print(f"| {t} | {l['samples_per_s']:.0f} | {p['samples_per_s']:.0f} | {ratio:.2f} | "
          f"{l['step_over_gemm']:.2f} | {l['test_accuracy']:.3f} / {p['test_accuracy']:.3f} |")
print(f"blis kernel set: {best[('lifelong', 1)]['blis_arch']} (PyTorch: BLIS_ARCH_TYPE={best[('pytorch', 1)]['blis_arch_type']})")
json.dump(summary, open(sys.argv[1].replace(".jsonl", ".json"), "w"), indent=2)
PY
