#!/usr/bin/env bash
# Noisy labels (issue 15, part 2): benchmarks/noisy.json — ER's reservoir
# against PuriDivER (with and without robust learning, and trained on its
# memory only) on an online i-Blurry-50-10 Fashion-MNIST
# stream at 20/40/60% symmetric and 20/40% class-flip label noise, 3 seeds;
# then the report and a markdown table of a_auc, a_last and the memory's
# purity (the fraction of its samples whose label is clean, measured by the
# host), mean ± std over seeds.
#
#   bash benchmarks/run-noisy.sh           # JOBS=2
#   MATRIX=benchmarks/noisy-symmetric.json OUT=build/bench/noisy-symmetric bash benchmarks/run-noisy.sh
#                                          # the symmetric cells only, split_test ashman / bic
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
MATRIX=${MATRIX:-benchmarks/noisy.json}
OUT=${OUT:-$BUILD/bench/noisy}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix "$MATRIX" --out "$OUT" -j "$JOBS" --quiet
"$exe" report "$OUT" --out "$OUT-report" >/dev/null
/usr/bin/python3 - "$OUT" <<'PY'
import glob, json, os, statistics, sys
rows = {}
for p in sorted(glob.glob(os.path.join(sys.argv[1], "cells", "*", "result.json"))):
    r = json.load(open(p))
    if r.get("status") != "ok":
        continue
    n = r["label_noise"]
    st = r["config"]["strategy"]
    name = st["name"]
    if st.get("robust") is False:
        name += " (robust: false)"
    if "split_test" in st:
        name += f" (split_test: {st['split_test']})"
    if st.get("stream_in_batch") is False:
        name += " (stream_in_batch: false)"
    rows.setdefault((n["type"], n["rate"], name), []).append(r)
def ms(v):
    return f"{statistics.mean(v):.3f} ± {statistics.stdev(v):.3f}" if len(v) > 1 else f"{v[0]:.3f}"
print(f"\n({len(next(iter(rows.values())))} seeds)\n")
print("| noise | strategy | a_auc | a_last | buffer purity (end) | replay purity (stream) |")
print("|---|---|---|---|---|---|")
for k in sorted(rows, key=lambda k: (k[0] != "symmetric", k[0], k[1], k[2])):
    rs = rows[k]
    print(f"| {k[0]} {int(round(k[1] * 100))}% | {k[2]} | {ms([x['metrics']['a_auc'] for x in rs])} | "
          f"{ms([x['metrics']['a_last'] for x in rs])} | {ms([x['label_noise']['buffer_purity'] for x in rs])} | "
          f"{ms([x['label_noise']['replay_purity'] for x in rs])} |")
PY
