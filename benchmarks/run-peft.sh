#!/usr/bin/env bash
# PEFT benchmark (the PEFT issue): a transformer (d_model 128, 4 layers, 4
# heads, context 64) pre-trained on the en/cookie fortunes (PRETRAIN_TOKENS
# tokens, saved to build/bench/peft/base), then benchmarks/peft.json: full
# fine-tuning, EWC, ER and the seven PEFT strategies, each starting from
# that checkpoint (model.checkpoint), over four further domains as
# continual pre-training; and benchmarks/peft-tc.json, the same methods
# classifying the four domains (a new classifier head: checkpoint_head
# "new"); 3 seeds each; then each matrix's leaderboard report and a
# per-method table of trainable parameters, memory and train tokens/s
# relative to full fine-tuning.
#
#   bash benchmarks/run-peft.sh          # PRETRAIN_TOKENS=600000 JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
PRETRAIN_TOKENS=${PRETRAIN_TOKENS:-600000}
OUT=${OUT:-$BUILD/bench/peft}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
mkdir -p "$OUT"
if [ ! -f "$OUT/base/model.safetensors" ]; then
  "$exe" run benchmarks/runs/transformer-4domains.json --quiet --threads "$JOBS" \
    --set 'dataset.domains=["en/cookie"]' --set train.tokens="$PRETRAIN_TOKENS" \
    --out "$OUT/base.json" --save-model "$OUT/base"
fi
# the matrices name the checkpoint relative to the repository: run from here
for m in peft peft-tc; do
  "$exe" matrix "benchmarks/$m.json" --out "$OUT/$m" -j "$JOBS" --quiet
  "$exe" report "$OUT/$m" --out "$OUT/$m-report" >/dev/null
done
/usr/bin/python3 - "$OUT/peft" "$OUT/peft-tc" <<'PY'
import json, os, sys, statistics
rows = {}
for d in sys.argv[1:]:
    for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
        p = os.path.join(d, "cells", c["id"], "result.json")
        if not os.path.exists(p):
            continue
        r = json.load(open(p))
        key = (r["config"]["scenario"]["type"], c.get("method", r["config"]["strategy"]["name"]))
        rows.setdefault(key, []).append(r)
def ms(v):
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
for scen in ("continual-pretraining", "text-classification"):
    keys = [k for k in rows if k[0] == scen]
    if not keys:
        continue
    ref = rows.get((scen, "full-ft"))
    ref_tps = statistics.mean(x["throughput"]["train_tokens_per_s"] for x in ref) if ref else None
    lossy = scen == "continual-pretraining"
    print(f"\n{scen} ({len(rows[keys[0]])} seeds)\n")
    print(f"| method | {'final mean loss' if lossy else 'average accuracy'} | forgetting | trainable params | "
          "strategy memory (bytes) | train tokens/s vs full-ft (in the matrix: noisy) |")
    print("|---|---|---|---|---|---|")
    for k in sorted(keys, key=lambda k: statistics.mean(x["metrics"]["average_loss" if lossy else "average_accuracy"] for x in rows[k]) * (1 if lossy else -1)):
        rs = rows[k]
        a = [x["metrics"]["average_loss" if lossy else "average_accuracy"] for x in rs]
        f = [x["metrics"]["average_forgetting"] for x in rs]
        tps = statistics.mean(x["throughput"]["train_tokens_per_s"] for x in rs)
        trainable = rs[0]["parameters"]["trainable"]   # during the last experience
        print(f"| {k[1]} | {ms(a)} | {ms(f)} | {trainable:,} | "
              f"{rs[0].get('memory_bytes', {}).get('strategy', 0):,} | {tps / ref_tps if ref_tps else float('nan'):.2f} |")
PY
# tokens/s per method on a quiet machine, one after another
bash benchmarks/run-peft-speed.sh
