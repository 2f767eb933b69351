#!/usr/bin/env bash
# Knowledge-editing benchmark (docs/editing.md): benchmarks/editing.json —
# the base model (a transformer pre-trained on the facts knowledge base,
# trained once into the model cache, $LIFELONG_CACHE), then 100 edits
# with ft-l, ft-ewc (three strengths), grace, wise (three variants),
# wise-retrieve (two) and ft-l with 0 steps (the unedited model), measured
# after 1, 10 and 100 edits, seeds 0, 1, 2; then the report and
# a table of the base model's knowledge-base accuracy and Rel / Gen / Loc
# with time per edit.
#
#   bash benchmarks/run-editing.sh          # JOBS=1; LIFELONG_CACHE=$BUILD/cache
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-1}
OUT=${OUT:-$BUILD/bench/editing}
export LIFELONG_CACHE=${LIFELONG_CACHE:-$PWD/$BUILD/cache}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix benchmarks/editing.json --out "$OUT/matrix" -j "$JOBS" --quiet
"$exe" report "$OUT/matrix" --out "$OUT/report" >/dev/null
/usr/bin/python3 - "$OUT/matrix" <<'PY'
import json, os, sys
d = sys.argv[1]
base = None
rows = []
for c in json.load(open(os.path.join(d, "index.json")))["cells"]:
    p = os.path.join(d, "cells", c["id"], "result.json")
    if not os.path.exists(p):
        continue
    r = json.load(open(p))
    ed = r["editing"]
    base = ed["base_model"]
    s = r["config"]["strategy"]
    label = c.get("method") or s["name"]
    for pt in ed["points"]:
        rows.append((label, pt))
print(f"base model: knowledge-base token accuracy {base['kb_token_accuracy']:.4f}, "
      f"exact match {base['kb_exact_match']:.4f} ({base['kb_samples']} texts); "
      f"before editing: reliability {base['reliability']:.4f}, generalization {base['generalization']:.4f}")
print()
# one row per method and T: the mean over seeds, "± sd" when there are several
groups = {}
for label, pt in rows:
    groups.setdefault((label, pt['edits']), []).append(pt)
def cell(pts, key, digits=4):
    v = [p[key] for p in pts]
    m = sum(v) / len(v)
    if len(v) < 2:
        return f"{m:.{digits}f}"
    sd = (sum((x - m) ** 2 for x in v) / (len(v) - 1)) ** 0.5
    return f"{m:.{digits}f} ± {sd:.{digits}f}"
print("| method | T | seeds | Rel | Gen | Loc | score | Rel (exact) | Gen (exact) | s / edit |")
print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
for (label, T), pts in groups.items():
    print(f"| {label} | {T} | {len(pts)} | {cell(pts, 'reliability')} | {cell(pts, 'generalization')} | "
          f"{cell(pts, 'locality')} | {cell(pts, 'score')} | {cell(pts, 'reliability_exact')} | "
          f"{cell(pts, 'generalization_exact')} | {cell(pts, 'time_per_edit_s', 3)} |")
PY
