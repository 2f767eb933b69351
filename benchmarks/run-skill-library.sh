#!/usr/bin/env bash
# Skill-library benchmark (docs/skill-library.md): benchmarks/skill-library.json
# — split Fashion-MNIST with recurring tasks (0 1 2 0 3 1 4), naive, ER,
# LoRA, the skill library at two thresholds and joint; 3 seeds.  Then the
# report and a table: final average accuracy over the 7 experiences,
# forgetting, library size and reuse rate (skill-library), wall time.
#
#   bash benchmarks/run-skill-library.sh     # JOBS=1; 18 cells, about 2 minutes on one core
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-1}
OUT=${OUT:-$BUILD/bench/skill-library}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
mkdir -p "$OUT"
"$exe" matrix benchmarks/skill-library.json --out "$OUT/matrix" -j "$JOBS" --quiet
"$exe" report "$OUT/matrix" --out "$OUT/report" >/dev/null
/usr/bin/python3 - "$OUT/matrix" <<'PY'
import json, os, sys, statistics as st
d = sys.argv[1]
rows = {}
for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
    p = os.path.join(d, "cells", c["id"], "result.json")
    if os.path.exists(p):
        rows.setdefault(c.get("method") or c.get("strategy"), []).append(json.load(open(p)))
def ms(v):
    if any(x is None for x in v):
        return "–"
    return f"{100*st.mean(v):.1f} ± {100*(st.stdev(v) if len(v) > 1 else 0):.1f}"
print("| method | avg accuracy (%) | forgetting (%) | library size | reuse rate | wall s |")
print("|---|---:|---:|---:|---:|---:|")
for m, rs in rows.items():
    acc = [r["metrics"]["average_accuracy"] for r in rs]
    fg = [r["metrics"]["average_forgetting"] for r in rs]
    s = [r.get("strategy", {}) for r in rs]
    lib = f"{st.mean(x['library_size'] for x in s):.1f}" if "library_size" in s[0] else "–"
    reuse = f"{st.mean(x['reuse_rate'] for x in s):.2f}" if "reuse_rate" in s[0] else "–"
    wall = st.mean(r["time_s"]["total"] for r in rs)
    print(f"| {m} | {ms(acc)} | {ms(fg)} | {lib} | {reuse} | {wall:.1f} |")
PY
