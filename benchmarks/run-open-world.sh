#!/usr/bin/env bash
# Open-world novelty benchmark (issue 15, part 3; docs/open-environments.md):
# benchmarks/open-world.json — Fashion-MNIST, 6 known classes, 4 unlabelled
# deployment streams of one new class each, an oracle budget of 400 labels;
# naive (never asks) and sola with each novelty score; four class orders,
# 3 seeds.  Prints, per class order and method (mean ± sd over the seeds):
# the novelty AUROC after each of the first four experiences and its mean,
# the known classes' accuracy at the end, the new classes' accuracy after
# each stream, the labels used, and how many answers were of classes the
# strategy had not learned yet.
#
#   bash benchmarks/run-open-world.sh          # JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD/bench/open-world}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix benchmarks/open-world.json --out "$OUT" -j "$JOBS" --quiet
"$exe" report "$OUT" --out "$OUT-report" >/dev/null
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, sys, statistics
d = sys.argv[1]
groups = {}
for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
    p = os.path.join(d, "cells", c["id"], "result.json")
    if c["status"] != "ok" or not os.path.exists(p):
        print(f"cell {c['id']} ({c['method']}, seed {c['seed']}): {c['status']} {c.get('reason', '')}")
        continue
    r = json.load(open(p))
    sc = r["config"]["scenario"]
    order = "natural" if sc["order_seed"] < 0 else f"shuffled (order_seed {sc['order_seed']})"
    classes = r["open_world"]["classes"]
    groups.setdefault((order, json.dumps(classes)), {}).setdefault(c["method"], []).append(r)

def ms(xs, f="{:.3f}"):
    xs = [x for x in xs if x is not None]
    if not xs:
        return "–"
    if len(xs) == 1:
        return f.format(xs[0])
    return (f + " ± " + f).format(statistics.mean(xs), statistics.stdev(xs))

def mean(xs):
    xs = [x for x in xs if x is not None]
    return f"{statistics.mean(xs):.2f}" if xs else "–"

for (order, classes), methods in groups.items():
    cl = json.loads(classes)
    print(f"\n### Class order: {order} — known {cl[0]}, then " + ", ".join(str(x) for x in cl[1:]))
    print()
    print("| method | novelty AUROC (mean) | AUROC after exp 0 / 1 / 2 / 3 | old acc. (end) "
          "| new acc. after exp 1 / 2 / 3 / 4 | labels used | new-class answers |")
    print("|---|---|---|---|---|---|---|")
    for m in sorted(methods, key=lambda m: (m != "naive", m)):
        rs = methods[m]
        ow = [r["open_world"] for r in rs]
        auc = ms([r["metrics"]["novelty_auroc"] for r in rs])
        per = " / ".join(mean([o["novelty_auroc"][i] for o in ow]) for i in range(4))
        old = ms([r["metrics"]["old_accuracy"] for r in rs])
        new = " / ".join(mean([o["new_accuracy"][i] for o in ow]) for i in range(1, 5))
        used = ms([o["labels_used"] for o in ow], "{:.0f}")
        fresh = ms([sum(r["strategy"].get("new_class_answers", [0])) for r in rs], "{:.0f}")
        print(f"| {m} | {auc} | {per} | {old} | {new} | {used} | {fresh} |")
PY
