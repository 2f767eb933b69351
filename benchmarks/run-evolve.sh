#!/usr/bin/env bash
# A personal model that evolves (docs/evolve.md): a week (7 days) of the
# simulated user with the transformer pre-trained on Debian's fortunes (the
# instruction-tuning benchmark's base model, from the model cache:
# benchmarks/evolve-base.json), for naive, er and ewc.  Each day: the
# simulated user asks 4 new facts and 3 earlier ones of the latest version
# (`lifelong simulate-user`), corrects the wrong replies, and `lifelong
# evolve` writes the next version.  Prints, per strategy, a table per day
# and a few answers across the versions.
#
#   bash benchmarks/run-evolve.sh     # DAYS=7 STRATEGIES="naive er ewc lamol" SEED=0
#   EXTRA="--set train.lr=0.001" bash benchmarks/run-evolve.sh   # more evolve arguments
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
OUT=${OUT:-$BUILD/bench/evolve}
DAYS=${DAYS:-7}
SEED=${SEED:-0}
STRATEGIES=${STRATEGIES:-naive er ewc lamol}
export LIFELONG_CACHE=${LIFELONG_CACHE:-$PWD/$BUILD/cache}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$PWD/$BUILD/framework/lifelong
mkdir -p "$OUT"
# the base model: trained into the cache once (80 s), then found there
"$exe" run benchmarks/evolve-base.json --out "$OUT/base-result.json" --quiet
BASE=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["checkpoint"]["path"])' \
       "$OUT/base-result.json")
EWC_LAMBDA=${EWC_LAMBDA:-100000000}
LAMOL_GAMMA=${LAMOL_GAMMA:-1}
declare -A SETS=([naive]="" [er]="" [ewc]="--set strategy.lambda=$EWC_LAMBDA"
                 [lamol]="--set strategy.gamma=$LAMOL_GAMMA")
for s in $STRATEGIES; do
  P=$OUT/$s
  rm -rf "$P"
  mkdir -p "$P"
  start=$(date +%s)
  "$exe" evolve --init --from "$BASE" --out "$P/personal" >/dev/null
  v=1.0
  for d in $(seq 1 "$DAYS"); do
    "$exe" simulate-user --model "$P/personal/v$v" --day "$d" --seed "$SEED" --new 4 --repeats 3 \
      --out "$P/day$d.jsonl" >/dev/null
    # shellcheck disable=SC2086
    "$exe" evolve --model "$P/personal/v$v" --log "$P/day$d.jsonl" --strategy "$s" --seed "$SEED" --quiet \
      ${SETS[$s]:-} ${EXTRA:-} >"$P/evolve-day$d.txt" 2>"$P/evolve-day$d.err"
    v=1.$d
  done
  echo "$(( $(date +%s) - start ))" >"$P/seconds"
done
/usr/bin/python3 - "$OUT" "$exe" "$DAYS" "$SEED" $STRATEGIES <<'PY'
import json, os, subprocess, sys
out, exe, days, seed, strategies = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5:]
facts = [l.split("\t") for l in subprocess.run([exe, "simulate-user", "--facts", "--seed", seed],
                                              capture_output=True, text=True, check=True).stdout.splitlines()]
def frac(c, key):
    return "–" if c["count"] == 0 else f'{c["answered_" + key]}/{c["count"]}'
for s in strategies:
    P = os.path.join(out, s, "personal")
    secs = open(os.path.join(out, s, "seconds")).read().strip()
    print(f"\n### {s} ({days} days, {secs} s)\n")
    print("| day | version | asked | corrected | today's corrections answered (before → after) | "
          "earlier days' facts kept (before → after) | facts taught so far answered | general loss (nats/token) |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|")
    for d in range(1, days + 1):
        m = json.load(open(os.path.join(P, f"v1.{d}", "evolve.json")))
        x = m["metrics"]
        day = m["days"][-1]
        print(f'| {d} | v1.{d} | {day["turns"]} | {day["corrections"]} | '
              f'{frac(x["corrected_today"], "before")} → {frac(x["corrected_today"], "after")} | '
              f'{frac(x["earlier_facts"], "before")} → {frac(x["earlier_facts"], "after")} | '
              f'{frac(x["facts"], "after")} ({x["facts"]["exact_match_after"]:.2f}) | '
              f'{x["general_loss_before"]:.3f} → {x["general_loss_after"]:.3f} |')
    # a few answers across the versions: the first day's facts
    shown = facts[:3]
    print(f"\n{s}: greedy answers of every version to the first day's first three facts\n")
    print("| version | " + " | ".join(f'`{q}` ({a})' for _, q, a in shown) + " |")
    print("|---|" + "---|" * len(shown))
    for d in range(0, days + 1):
        cells = []
        for _, q, a in shown:
            snap = os.path.join(P, f"v1.{d}")
            prefix = json.load(open(os.path.join(snap, "evolve.json"))).get("prompt_prefix", "")
            r = subprocess.run([exe, "generate", snap, "--prompt", prefix + q + "\n",
                                "--temperature", "0", "--max-tokens", "16", "--json"],
                               capture_output=True, text=True, check=True)
            t = json.loads(r.stdout)["text"].split("\n")[0]
            t = "".join(ch if 32 <= ord(ch) < 127 else "?" for ch in t).replace("|", "\\|").replace("`", "'")
            cells.append(f"`{t}`" + (" ✓" if t == a else ""))
        print(f"| v1.{d} | " + " | ".join(cells) + " |")
PY
