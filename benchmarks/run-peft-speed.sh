#!/usr/bin/env bash
# Training speed of each PEFT strategy against full fine-tuning (naive), on
# the transformer of benchmarks/peft.json started from its pre-trained
# checkpoint (build/bench/peft/base: run benchmarks/run-peft.sh first), one
# domain (en/computers), 40 steps of 32 x 64 tokens, one thread.  The
# methods run one after another, REPEATS rounds interleaved, best of each
# kept: the ratio to full fine-tuning in the same invocation is the figure
# (a matrix's cells share the machine with each other, so its tokens/s are
# not comparable).  EWC and ER are left out: in a first experience they
# have nothing to replay or penalise (their cost: run-overhead.sh).
#
#   bash benchmarks/run-peft-speed.sh      # REPEATS=2 THREADS=1
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
REPEATS=${REPEATS:-2}
THREADS=${THREADS:-1}
METHODS=${METHODS:-"naive lora o-lora inflora prompt l2p prefix adapter"}
OUT=${OUT:-$BUILD/bench/peft-speed}
base=$BUILD/bench/peft/base
[ -f "$base/model.safetensors" ] || { echo "run-peft-speed: no $base (run benchmarks/run-peft.sh first)" >&2; exit 1; }
ninja -C "$BUILD" >/dev/null
mkdir -p "$OUT"
for r in $(seq 1 "$REPEATS"); do
  for m in $METHODS; do
    "$BUILD/framework/lifelong" run benchmarks/runs/transformer-4domains.json --quiet --threads "$THREADS" \
      --set 'dataset.domains=["en/computers"]' --set train.tokens=81920 --set strategy.name="$m" \
      --set model.checkpoint="$base" --out "$OUT/$m-$r.json"
  done
done
/usr/bin/python3 - "$OUT" "$REPEATS" $METHODS <<'PY'
import json, sys
out, repeats, methods = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
best = {}
for m in methods:
    rs = [json.load(open(f"{out}/{m}-{r}.json")) for r in range(1, repeats + 1)]
    best[m] = (max(x["throughput"]["train_tokens_per_s"] for x in rs), rs[0])
ref = best["naive"][0]
print("| method | trainable params | train tokens/s | vs full fine-tuning |")
print("|---|---|---|---|")
for m in methods:
    tps, r = best[m]
    trainable = r["parameters"]["trainable"]
    print(f"| {'full-ft' if m == 'naive' else m} | {trainable:,} | {tps:.0f} | {tps / ref:.2f} |")
PY
