#!/usr/bin/env bash
# Continual instruction tuning benchmark (docs/instruction-tuning.md):
# benchmarks/instructions.json — the base model (a transformer pre-trained
# on Debian's fortunes, trained once into the model cache, $LIFELONG_CACHE),
# then 5 instruction tasks in sequence with naive, joint, er, ewc, lwf, lora,
# o-lora, lamol and ssr over 3 seeds; then the report, the leaderboard
# (mean ± sd over seeds of average exact match, forgetting, BWT,
# general_loss_delta, wall time; a cell's wall time includes waiting for
# the base model while another cell trains it) and each task's generations before and
# after the sequence for naive and the best method.
#
#   bash benchmarks/run-instructions.sh      # JOBS=2; LIFELONG_CACHE=$BUILD/cache
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD/bench/instructions}
export LIFELONG_CACHE=${LIFELONG_CACHE:-$PWD/$BUILD/cache}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix benchmarks/instructions.json --out "$OUT/matrix" -j "$JOBS" --quiet
"$exe" report "$OUT/matrix" --out "$OUT/report" >/dev/null
/usr/bin/python3 - "$OUT/matrix" <<'PY'
import json, os, sys, statistics
d = sys.argv[1]
runs = {}
for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
    p = os.path.join(d, "cells", c["id"], "result.json")
    if not os.path.exists(p):
        continue
    r = json.load(open(p))
    label = c.get("method") or r["config"]["strategy"]["name"]
    runs.setdefault(label, []).append(r)
def ms(vals):
    vals = [v for v in vals if v is not None]
    if not vals:
        return "–"
    return f"{statistics.mean(vals):.3f}" + (f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else "")
first = next(iter(runs.values()))[0]
ins = first["instruction"]
print(f"tasks: {', '.join(first['config']['dataset']['tasks'])}; seeds per method: "
      f"{max(len(v) for v in runs.values())}; general loss before tuning (base model): "
      f"{ins['general_loss_before']:.3f} nats/token on {ins['general_texts']} held-out fortunes")
print()
print("| method | avg exact match | forgetting | BWT | learning EM | general_loss_delta | wall time (s) | train (s) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
order = sorted(runs, key=lambda k: -statistics.mean(r["metrics"]["average_accuracy"] for r in runs[k]))
for k in order:
    rs = runs[k]
    m = lambda key: ms([r["metrics"].get(key) for r in rs])
    print(f"| {k} | {m('average_accuracy')} | {m('average_forgetting')} | {m('bwt')} | "
          f"{m('learning_accuracy')} | {m('general_loss_delta')} | {ms([r['time_s']['total'] for r in rs])} | "
          f"{ms([r['time_s']['train'] for r in rs])} |")
best = next(k for k in order if k not in ("joint", "naive"))
for k in ("naive", best):
    r = sorted(runs[k], key=lambda r: r["config"]["seed"])[0]
    print(f"\n{k} (seed {r['config']['seed']}): exact match after each task (rows) on each task (columns)\n")
    for row in r["matrix"]:
        print("    " + "  ".join(f"{v:.2f}" for v in row))
    print(f"\n{k} (seed {r['config']['seed']}): greedy generations before and after the sequence\n")
    print("| task | prompt | reference | before | after |")
    print("|---|---|---|---|---|")
    esc = lambda s: json.dumps(s)[1:-1].replace("|", "\\|")
    for g in r["instruction"]["generations"]:
        print(f"| {g['task']} | `{esc(g['prompt'])}` | `{esc(g['reference'])}` | `{esc(g['before'])}` | "
              f"`{esc(g.get('after', ''))}` |")
PY
