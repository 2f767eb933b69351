#!/usr/bin/env python3
"""Pick hyperparameters on the validation split and print the test table.

    python3 benchmarks/tune.py DIR [--all] [--csv FILE]

DIR is the output directory of `lifelong matrix` (DIR/index.json and
DIR/cells/<id>/result.json).  A method with named variants is labelled
"name/variant" in the index (docs/matrix.md); its family is "name".  For each
(scenario, family) the variant with the best mean *validation* average
accuracy over its seeds (result["validation_metrics"]["average_accuracy"],
present when scenario.validation_fraction > 0) is chosen; the test set is
never looked at for the choice.  The table then gives, for the chosen
variant, the TEST average accuracy and forgetting (result["metrics"]) as
mean +- sample standard deviation over its seeds.

A family with one entry (no variants: naive, er, ...) is its own choice.  A
family whose cells have no validation numbers falls back to its first
variant in the index's order, marked "(no validation)".  Ties go to the
earlier variant in the index.  Cells that are skipped (a method that needs
task ids outside task-incremental), failed or not run are counted, not
used.  `joint` has one row, so its forgetting is undefined ("-").

--all also prints every variant (validation and test), the chosen one
marked with "*"; --csv writes the chosen rows as CSV.

Python 3 standard library only.
"""
import argparse
import csv
import json
import math
import os
import sys


def mean_std(xs):
    xs = [x for x in xs if x is not None]
    if not xs:
        return None, None, 0
    m = sum(xs) / len(xs)
    if len(xs) < 2:
        return m, None, len(xs)
    s = math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))
    return m, s, len(xs)


def fmt(m, s, pct=True):
    if m is None:
        return "-"
    k = 100.0 if pct else 1.0
    if s is None:
        return f"{k * m:.1f}"
    return f"{k * m:.1f} ± {k * s:.1f}"


def load(dirname):
    index_path = os.path.join(dirname, "index.json")
    try:
        with open(index_path) as f:
            index = json.load(f)
    except (OSError, ValueError) as e:
        sys.exit(f"tune.py: {index_path}: {e}")
    cells = index.get("cells")
    if not isinstance(cells, list):
        sys.exit(f"tune.py: {index_path}: no \"cells\" array")
    # scenario -> family -> variant -> list of per-seed dicts; orders kept
    table, counts = {}, {}
    for c in cells:
        scen, method, status = c.get("scenario", "?"), c.get("method", "?"), c.get("status", "?")
        family = method.split("/", 1)[0]
        key = (scen, family)
        counts.setdefault(key, {}).setdefault(status, 0)
        counts[key][status] += 1
        if status != "ok":
            continue
        rdir = c.get("dir") or os.path.join("cells", c["id"])
        path = rdir if os.path.isabs(rdir) else os.path.join(dirname, rdir)
        if os.path.isdir(path):
            path = os.path.join(path, "result.json")
        try:
            with open(path) as f:
                r = json.load(f)
        except (OSError, ValueError) as e:
            print(f"tune.py: {path}: {e} (left out)", file=sys.stderr)
            continue
        metrics = r.get("metrics") or {}
        val = r.get("validation_metrics") or {}
        row = {
            "seed": c.get("seed"),
            "test_acc": metrics.get("average_accuracy"),
            "test_fgt": metrics.get("average_forgetting"),
            "val_acc": val.get("average_accuracy"),
        }
        table.setdefault(scen, {}).setdefault(family, {}).setdefault(method, []).append(row)
    return table, counts


def choose(variants):
    """variants: method label -> rows, in index order.  Returns (label, validated)."""
    best, best_v = None, None
    for label, rows in variants.items():
        v, _, n = mean_std([r["val_acc"] for r in rows])
        if n == 0:
            continue
        if best_v is None or v > best_v:
            best, best_v = label, v
    if best is None:
        return next(iter(variants)), False
    return best, True


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dir")
    ap.add_argument("--all", action="store_true", help="also print every variant")
    ap.add_argument("--csv", help="write the chosen rows to this CSV file")
    a = ap.parse_args()
    table, counts = load(a.dir)
    out_rows = []
    for scen, fams in table.items():
        print(f"\n### {scen}\n")
        print("| method | chosen variant | seeds | validation A | test A (%) | test F (%) |")
        print("|---|---|---|---|---|---|")
        for family, variants in fams.items():
            label, validated = choose(variants)
            rows = variants[label]
            va = mean_std([r["val_acc"] for r in rows])
            ta = mean_std([r["test_acc"] for r in rows])
            tf = mean_std([r["test_fgt"] for r in rows])
            chosen = label if label != family else "-"
            if not validated:
                chosen += " (no validation)"
            if len(variants) > 1:
                chosen += f" of {len(variants)}"
            print(f"| {family} | {chosen} | {ta[2]} | {fmt(va[0], None)} | {fmt(ta[0], ta[1])} | {fmt(tf[0], tf[1])} |")
            out_rows.append([scen, family, label, ta[2], va[0], ta[0], ta[1], tf[0], tf[1]])
            if a.all and len(variants) > 1:
                for lab, rs in variants.items():
                    v = mean_std([r["val_acc"] for r in rs])
                    t = mean_std([r["test_acc"] for r in rs])
                    f = mean_std([r["test_fgt"] for r in rs])
                    mark = "*" if lab == label else ""
                    print(f"|   {mark}{lab} | | {t[2]} | {fmt(v[0], v[1])} | {fmt(t[0], t[1])} | {fmt(f[0], f[1])} |")
    # what did not run
    notes = []
    for (scen, family), c in counts.items():
        other = {k: v for k, v in c.items() if k != "ok"}
        if other:
            notes.append(f"{scen} {family}: " + ", ".join(f"{v} {k}" for k, v in sorted(other.items())))
    if notes:
        print("\nCells without a result:")
        for n in notes:
            print(f"- {n}")
    if a.csv:
        with open(a.csv, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(["scenario", "method", "chosen", "seeds", "validation_acc", "test_acc_mean",
                        "test_acc_std", "test_forgetting_mean", "test_forgetting_std"])
            w.writerows(out_rows)


if __name__ == "__main__":
    main()
