#!/usr/bin/env bash
# Continual pre-training of the transformer (d_model 128, 4 layers, 4
# heads, context 64; 870,272 parameters) over four fortunes domains
# (benchmarks/runs/transformer-4domains.json: en/computers, en/science,
# de/computer, it/computer, TOKENS trained tokens each): naive,
# cumulative and ER side by side.  Prints each strategy's per-domain test
# loss matrix (nats per token; row i = after training domain i), the
# rise of the first domain's loss (forgetting), bits per byte, and sampled
# generations from the same prompts before the sequence (the model after
# domain 1) and after it (temperature 0.7, top-k 40, seed 1: greedy
# decoding of a model this small loops on "the the the").
#
#   bash benchmarks/run-continual-pretraining.sh     # TOKENS=200000 SEEDS="0" THREADS=2
set -euo pipefail
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
TOKENS=${TOKENS:-200000}
SEEDS=${SEEDS:-0}
THREADS=${THREADS:-2}
STRATEGIES=${STRATEGIES:-"naive cumulative er"}
OUT=${OUT:-$BUILD/bench/continual-pretraining}
[ -f "$BUILD/build.ninja" ] || meson setup "$BUILD" >/dev/null
ninja -C "$BUILD" >/dev/null
exe=$BUILD/framework/lifelong
cfg=benchmarks/runs/transformer-4domains.json
mkdir -p "$OUT"
prompts=("The computer " "A scientist " "Der Computer " "Il computer ")
generate () {   # model dir, label
  for p in "${prompts[@]}"; do
    printf '%s | ' "$2"
    "$exe" generate "$1" --prompt "$p" --max-tokens 80 --temperature 0.7 --seed 1 --threads "$THREADS" | tr '\n' ' '
    echo
  done
}
for seed in $SEEDS; do
  # before: the model after the first domain alone
  "$exe" run "$cfg" --quiet --threads "$THREADS" --set seed="$seed" --set train.tokens="$TOKENS" \
    --set 'dataset.domains=["en/computers"]' --out "$OUT/first-$seed.json" --save-model "$OUT/first-$seed"
  for s in $STRATEGIES; do
    extra=()
    [ "$s" = er ] && extra=(--set strategy.buffer_size=1000)
    "$exe" run "$cfg" --quiet --threads "$THREADS" --set seed="$seed" --set train.tokens="$TOKENS" \
      --set strategy.name="$s" "${extra[@]}" --out "$OUT/$s-$seed.json" --save-model "$OUT/$s-$seed"
  done
done
/usr/bin/python3 - "$OUT" "$SEEDS" $STRATEGIES <<'PY'
import json, sys, statistics
out, seeds, strategies = sys.argv[1], sys.argv[2].split(), sys.argv[3:]
def ms(vals):
    return f"{statistics.mean(vals):.3f}" + (f" ± {statistics.stdev(vals):.3f}" if len(vals) > 1 else "")
summary = []
for s in strategies:
    rs = [json.load(open(f"{out}/{s}-{seed}.json")) for seed in seeds]
    r = rs[0]
    domains = r["domains"]
    print(f"\n{s} (seed {seeds[0]}; test loss in nats per token; row: after training that domain)\n")
    print("| after \\ on | " + " | ".join(domains) + " |")
    print("|---" * (len(domains) + 1) + "|")
    for i, row in enumerate(r["matrix"]):
        print(f"| {domains[i]} | " + " | ".join(f"{v:.3f}" for v in row) + " |")
    print("| bits/byte at the end | " + " | ".join(f"{v:.3f}" for v in r["bits_per_byte"]) + " |")
    summary.append((s, ms([x["metrics"]["average_loss"] for x in rs]),
                    ms([x["metrics"]["average_forgetting"] for x in rs]),
                    ms([x["matrix"][-1][0] - x["matrix"][0][0] for x in rs]),
                    statistics.mean(x["throughput"]["train_tokens_per_s"] for x in rs),
                    r["time_s"]["total"], r["parameters"]["total"]))
print(f"\n| strategy | final mean loss | average forgetting (loss rise) | first domain's rise | train tokens/s | run s | parameters |")
print("|---|---|---|---|---|---|---|")
for row in summary:
    print("| %s | %s | %s | %s | %.0f | %.0f | %d |" % row)
PY
echo
for seed in $SEEDS; do
  generate "$OUT/first-$seed" "before (after en/computers)"
  for s in $STRATEGIES; do generate "$OUT/$s-$seed" "after 4 domains, $s"; done
  break
done
