#!/usr/bin/env bash
# Mixture-of-experts benchmark (docs/moe.md): benchmarks/moe.json, a
# transformer (d_model 128, 4 layers, context 64) trained from scratch by
# continual pre-training over en/computers, en/science, de/computer,
# it/computer (40000 tokens each): dense naive, EWC, ER and LoRA against
# moe, lifelong-moe and cl-moe; 3 seeds.  Then the report and, per method:
# the final loss on each domain (mean over seeds), average loss,
# forgetting, parameters (total / trainable), train tokens/s, and the
# expert utilization of each domain (seed 0, mean over layers).
#
#   bash benchmarks/run-moe.sh          # JOBS=2; 21 cells, 6-22 minutes on 2 cores (load)
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD/bench/moe}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
mkdir -p "$OUT"
"$exe" matrix benchmarks/moe.json --out "$OUT/matrix" -j "$JOBS" --quiet
"$exe" report "$OUT/matrix" --out "$OUT/report" >/dev/null
/usr/bin/python3 - "$OUT/matrix" <<'PY'
import json, os, sys, statistics
d = sys.argv[1]
rows = {}
for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
    p = os.path.join(d, "cells", c["id"], "result.json")
    if os.path.exists(p):
        rows.setdefault(c.get("method", c.get("strategy")), []).append(json.load(open(p)))
def ms(v):
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
domains = rows[next(iter(rows))][0]["config"]["dataset"]["domains"]
print(f"\nfinal loss per domain (mean over seeds), average loss and forgetting (mean ± sd)\n")
print("| method | " + " | ".join(domains) + " | average loss | forgetting | params total | trainable | train tokens/s |")
print("|---|" + "---|" * (len(domains) + 5))
for m, rs in sorted(rows.items(), key=lambda kv: statistics.mean(r["metrics"]["average_loss"] for r in kv[1])):
    last = [statistics.mean(r["matrix"][-1][j] for r in rs) for j in range(len(domains))]
    tps = statistics.mean(r["throughput"]["train_tokens_per_s"] for r in rs)
    print(f"| {m} | " + " | ".join(f"{x:.3f}" for x in last) +
          f" | {ms([r['metrics']['average_loss'] for r in rs])} | {ms([r['metrics']['average_forgetting'] for r in rs])}"
          f" | {rs[0]['parameters']['total']:,} | {rs[0]['parameters']['trainable']:,} | {tps:,.0f} |")
for m, rs in rows.items():
    print(f"\n{m}: loss matrix R[i][j] (mean over {len(rs)} seeds; row: after training on domain i)\n")
    T = len(rs[0]["matrix"])
    for i in range(T):
        print("  " + "  ".join(f"{statistics.mean(r['matrix'][i][j] for r in rs):.3f}" for j in range(T)))
for m, rs in rows.items():
    r0 = min(rs, key=lambda r: r["config"]["seed"])
    util = r0.get("expert_utilization") or r0.get("strategy", {}).get("expert_utilization")
    if not util:
        continue
    print(f"\n{m}: expert utilization while training each domain (seed {r0['config']['seed']}, fraction of routed "
          "(token, expert) pairs per expert, mean over layers)\n")
    for ex in util:
        ls = list(ex["layers"].values())
        n = max(len(l["fractions"]) for l in ls)
        mean = [statistics.mean(l["fractions"][i] if i < len(l["fractions"]) else 0 for l in ls) for i in range(n)]
        print(f"  {domains[ex['experience']]:>14}: " + " ".join(f"{x:.2f}" for x in mean))
PY
