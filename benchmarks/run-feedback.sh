#!/usr/bin/env bash
# Corrective feedback (issue 16, part 1): benchmarks/feedback.json — naive,
# ER, correction-replay with and without recall on a recurring 5-task
# Fashion-MNIST deployment stream whose mistakes a corrector fixes within a
# budget of 500 or 3000 (recurrences ~500 samples later; and ~3000 later,
# mostly in a later task, at budget 3000), 3 seeds; then the report and a markdown table of
# repeat_error_rate, prequential accuracy, a_auc, a_last and corrections
# (mean ± std over seeds).
#
#   bash benchmarks/run-feedback.sh          # JOBS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
JOBS=${JOBS:-2}
OUT=${OUT:-$BUILD/bench/feedback}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
"$exe" matrix benchmarks/feedback.json --out "$OUT" -j "$JOBS" --quiet
"$exe" report "$OUT" --out "$OUT-report" >/dev/null
/usr/bin/python3 - "$OUT" <<'PY'
import json, os, re, statistics, sys
rows = {}
for c in json.load(open(os.path.join(sys.argv[1], "index.json")))["cells"]:
    p = os.path.join(sys.argv[1], c["dir"], "result.json")
    if c["status"] == "ok" and os.path.exists(p):
        m = re.search(r"/budget-(\d+)-revisit-[^-]+-gap-(\d+)", c["scenario"])
        rows.setdefault(((int(m.group(1)), int(m.group(2))), c["method"]), []).append(json.load(open(p)))
def ms(v, f="{:.3f}"):
    v = [x for x in v if x is not None]
    if not v:
        return "—"
    return (f + " ± " + f).format(statistics.mean(v), statistics.stdev(v)) if len(v) > 1 else f.format(v[0])
order = ["naive", "er", "correction-replay-norecall", "correction-replay"]
for setting in sorted({k[0] for k in rows}, key=lambda x: (x[1], x[0])):
    keys = [(setting, m) for m in order if (setting, m) in rows]
    budget, gap = setting
    print(f"\nbudget {budget} corrections, revisit_gap {gap} ({len(rows[keys[0]])} seeds)\n")
    print("| strategy | repeat_error_rate | repeats | same task | later task (repeats) | prequential accuracy | a_auc | a_last (final) | corrections used | uncorrected mistakes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for k in keys:
        rs = rows[k]
        fb = [x["feedback"] for x in rs]
        print(f"| {k[1]} | {ms([x['metrics']['repeat_error_rate'] for x in rs])} | "
              f"{ms([f['repeat_appearances'] for f in fb], '{:.0f}')} | "
              f"{ms([f['same_task_repeat_error_rate'] for f in fb])} | "
              f"{ms([f['later_task_repeat_error_rate'] for f in fb])} ({ms([f['later_task_repeat_appearances'] for f in fb], '{:.0f}')}) | "
              f"{ms([x['metrics']['prequential_accuracy'] for x in rs])} | {ms([x['metrics']['a_auc'] for x in rs])} | "
              f"{ms([x['metrics']['a_last'] for x in rs])} | {ms([f['corrections'] for f in fb], '{:.0f}')} / {budget} | "
              f"{ms([f['uncorrected_mistakes'] for f in fb], '{:.0f}')} |")
PY
