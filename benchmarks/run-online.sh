#!/usr/bin/env bash
# Online continual learning (issue 15, part 1): benchmarks/online.json —
# naive, ER, DER++, A-GEM, GDumb and online EWC on one pass over a 5-task
# class-incremental Fashion-MNIST stream, fixed (boundaries given) and
# i-Blurry-50-10 (withheld), 3 seeds; then the report and a markdown table
# of a_auc, a_last and forgetting (mean ± std over seeds).
#
#   bash benchmarks/run-online.sh          # JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD/bench/online}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix benchmarks/online.json --out "$OUT" -j "$JOBS" --quiet   # refused cells are skipped, with why
"$exe" report "$OUT" --out "$OUT-report" >/dev/null
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, statistics, sys
rows, skipped = {}, set()
for c in json.load(open(os.path.join(sys.argv[1], "index.json")))["cells"]:
    kind = "blurry" if "/blurry" in c["scenario"] else "fixed"
    if c["status"] == "skipped":
        skipped.add((kind, c["method"], c.get("reason", "")))
        continue
    p = os.path.join(sys.argv[1], c["dir"], "result.json")
    if c["status"] == "ok" and os.path.exists(p):
        rows.setdefault((kind, c["method"]), []).append(json.load(open(p)))
def ms(v):
    v = [x for x in v if x is not None]
    if not v:
        return "—"
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
for kind, title in (("fixed", "fixed tasks, boundaries given"), ("blurry", "i-Blurry-50-10, boundaries withheld")):
    keys = sorted((k for k in rows if k[0] == kind), key=lambda k: -statistics.mean(x["metrics"]["a_auc"] for x in rows[k]))
    if not keys:
        continue
    print(f"\n{title} ({len(rows[keys[0]])} seeds)\n")
    print("| strategy | a_auc | a_last | forgetting (task matrix) | train s |")
    print("|---|---|---|---|---|")
    for k in keys:
        rs = rows[k]
        print(f"| {k[1]} | {ms([x['metrics']['a_auc'] for x in rs])} | {ms([x['metrics']['a_last'] for x in rs])} | "
              f"{ms([x['metrics']['average_forgetting'] for x in rs])} | {ms([x['time_s']['train'] for x in rs])} |")
    for s in sorted(skipped):
        if s[0] == kind:
            print(f"| {s[1]} | refused: {s[2]} | | | |")
PY
