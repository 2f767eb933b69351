#!/usr/bin/env bash
# Regenerates the seed corpus fuzz/corpus/<target>/ from real files: the
# configs and matrix files of benchmarks/ plus small synthetic ones, tiny
# IDX files, checkpoints written by `lifelong run` itself, a matrix
# directory written by `lifelong matrix`, the bundled plugins' parameter
# tables, and model folders' config.json written by `lifelong run
# --save-model`.  Usage: fuzz/make-corpus.sh [BUILD_DIR] (default build-rel;
# any ordinary build).  The corpus is committed; rerun this when a format changes.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build-rel}
exe=$build/framework/lifelong
[ -x "$exe" ] || { echo "make-corpus: build $build first (meson setup $build && ninja -C $build)" >&2; exit 1; }
out=fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p $out/{config,matrix,idx,safetensors,report,params,model-dir,interaction-log}

synthetic='{"name": "synthetic", "classes": 6, "dim": 4, "train_per_class": 20, "test_per_class": 10}'

# ---- config: the benchmark runs, and small synthetic ones with --set parts
cp benchmarks/runs/*.json $out/config/
cat > $out/config/synthetic-naive.json <<EOF
{"model": {"name": "mlp", "hidden": [8]}, "strategy": {"name": "naive"},
 "dataset": $synthetic,
 "scenario": {"type": "class-incremental", "experiences": 3},
 "train": {"epochs": 2, "batch_size": 16, "lr": 0.03}, "seed": 0, "threads": 1}
EOF
cat > $out/config/synthetic-ewc-task.json <<EOF
{"model": {"name": "mlp", "hidden": [8, 8], "heads": "multi", "activation": "tanh"},
 "strategy": {"name": "ewc", "lambda": 100},
 "dataset": $synthetic,
 "scenario": {"type": "task-incremental", "experiences": 3, "order_seed": 2, "validation_fraction": 0.1},
 "train": {"epochs": 2, "batch_size": 16, "optimizer": "sgd", "momentum": 0.9, "schedule": "cosine",
           "early_stopping_patience": 1}, "seed": 4}
EOF
cat > $out/config/synthetic-er-domain.json <<EOF
{"model": {"name": "mlp", "hidden": [8]}, "strategy": {"name": "er", "buffer_size": 20},
 "dataset": $synthetic,
 "scenario": {"type": "domain-incremental", "domains": "permutation", "experiences": 2, "class_order": [5, 4, 3, 2, 1, 0]},
 "train": {"epochs": 1, "optimizer": "adamw", "weight_decay": 0.01, "clip": 1.0}}
EOF
printf '%s\0train.epochs=3\0strategy.lambda=5\0scenario.type=task-incremental' \
  "$(cat $out/config/synthetic-naive.json)" > $out/config/synthetic-with-sets

# ---- matrix: the default benchmark and a small one with variants and a skip
cp benchmarks/default.json $out/matrix/
cat > $out/matrix/variants.json <<EOF
{"base": {"dataset": $synthetic, "train": {"epochs": 1, "batch_size": 16}},
 "models": [{"name": "mlp", "hidden": [8]}],
 "strategies": [{"name": "naive"}, {"name": "hat"},
                {"name": "ewc", "variants": {"small": {"lambda": 1}, "large": {"lambda": 1000}}},
                {"name": "er", "buffer_size": 20, "label": "er-20"}],
 "datasets": [{"name": "synthetic"}],
 "scenarios": [{"type": "class-incremental", "experiences": 2}, {"type": "task-incremental", "experiences": 3}],
 "seeds": [0, 1],
 "published": {"class-incremental/2": {"naive": {"average_accuracy": 0.5}}}}
EOF

# ---- idx: images (3 dims) and labels (1 dim), raw and gzip-compressed
python3 - "$out/idx" <<'EOF'
import gzip, struct, sys
d = sys.argv[1]
images = bytes([0, 0, 8, 3]) + struct.pack('>III', 2, 3, 3) + bytes(range(18))
labels = bytes([0, 0, 8, 1]) + struct.pack('>I', 4) + bytes([0, 1, 2, 9])
open(f'{d}/images-idx3', 'wb').write(images)
open(f'{d}/labels-idx1', 'wb').write(labels)
open(f'{d}/images-idx3.gz', 'wb').write(gzip.compress(images, mtime=0))
EOF

# ---- safetensors: run checkpoints written by lifelong itself (a run that
# aborts right after its first checkpoint), with and without strategy state
for s in naive ewc er; do
  cat > $tmp/$s.json <<EOF
{"model": {"name": "mlp", "hidden": [4]}, "strategy": {"name": "$s"},
 "dataset": $synthetic, "scenario": {"experiences": 3},
 "train": {"epochs": 1, "batch_size": 16}}
EOF
  LIFELONG_TEST_ABORT_AFTER_EXPERIENCE=0 $exe run $tmp/$s.json --out $tmp/$s-r.json --quiet 2>/dev/null || true
  cp $tmp/$s-r.ckpt.safetensors $out/safetensors/checkpoint-$s.safetensors
done
# a Hugging Face style file: F16 and BF16 tensors, no lifelong metadata
python3 - "$out/safetensors" <<'EOF'
import json, struct, sys
h = {"a": {"dtype": "F16", "shape": [2], "data_offsets": [0, 4]},
     "b": {"dtype": "BF16", "shape": [1, 2], "data_offsets": [4, 8]},
     "c": {"dtype": "I64", "shape": [], "data_offsets": [8, 16]},
     "__metadata__": {"format": "pt"}}
hj = json.dumps(h).encode()
hj += b' ' * (-len(hj) % 8)
data = struct.pack('<2H', 0x3c00, 0x7c00) + struct.pack('<2H', 0x3f80, 0xff80) + struct.pack('<q', 7)
open(f'{sys.argv[1]}/foreign.safetensors', 'wb').write(struct.pack('<Q', len(hj)) + hj + data)
EOF

# ---- report: a matrix directory written by lifelong matrix, folded into
# the harness's layout (index.json, then cells/c0's files)
cat > $tmp/m.json <<EOF
{"base": {"dataset": $synthetic, "train": {"epochs": 1, "batch_size": 16}},
 "models": [{"name": "mlp", "hidden": [4]}],
 "strategies": [{"name": "naive"}, {"name": "er", "buffer_size": 10}],
 "datasets": [{"name": "synthetic"}], "scenarios": [{"experiences": 3}], "seeds": [0, 1]}
EOF
$exe matrix $tmp/m.json --out $tmp/mx --quiet
python3 - "$tmp/mx" "$out/report" <<'EOF'
import json, os, sys
src, dst = sys.argv[1], sys.argv[2]
index = json.load(open(f'{src}/index.json'))
first = index['cells'][0]['id']
cell = f'{src}/cells/{first}'
def part(name):
    p = f'{cell}/{name}'
    return open(p, 'rb').read() if os.path.exists(p) else b''
for c in index['cells']:
    c['id'] = 'c0'
    c.pop('dir', None)
ok = json.dumps(index).encode()
open(f'{dst}/matrix-ok', 'wb').write(b'\0'.join([ok, part('result.json'), part('status.json'), part('result.steps.jsonl')]))
# one failed, one skipped, one pending cell beside the finished ones
index['cells'][1].update(status='failed', reason='killed by signal 11 (Segmentation fault)')
index['cells'][2].update(status='skipped', reason='strategy x needs task ids')
index['cells'][3].update(status='pending')
index['published'] = {'class-incremental/3': {'naive': {'average_accuracy': 0.4}}}
mixed = json.dumps(index).encode()
status = json.dumps({'status': 'failed', 'reason': 'exit 1: boom', 'exit_code': 1, 'signal': 0,
                     'wall_s': 0.5, 'log_tail': 'lifelong run: boom\n'}).encode()
open(f'{dst}/matrix-mixed', 'wb').write(b'\0'.join([mixed, part('result.json'), status, part('result.steps.jsonl')]))
# an MoE strategy's top-level expert_utilization (docs/moe.md), one layer
# with counts only and one malformed, an experience without layers
res = json.loads(part('result.json'))
res['expert_utilization'] = [
    {'experience': 0, 'tokens': 120, 'layers': {
        'model.layers.0.mlp': {'tokens': 120, 'counts': [130, 110], 'fractions': [0.541667, 0.458333]},
        'model.layers.1.mlp': {'tokens': 120, 'counts': [100, 140]}}},
    {'experience': 1, 'tokens': 120, 'layers': {
        'model.layers.0.mlp': {'tokens': 120, 'counts': [60, 50, 70, 60], 'fractions': [0.25, 0.208333, 0.291667, 0.25]},
        'model.layers.1.mlp': {'fractions': ['x', 2]}}},
    {'experience': 2, 'layers': {}}]
open(f'{dst}/matrix-moe', 'wb').write(b'\0'.join([ok, json.dumps(res, indent=2).encode(), part('status.json'),
                                                   part('result.steps.jsonl')]))
EOF

# ---- params: every bundled plugin's table, with a section using its defaults
$exe plugins --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
for p in d["plugins"]:
    rows = []
    section = {}
    for q in p["parameters"]:
        r = {"name": q["name"], "type": q["type"], "doc": q["doc"]}
        if not q["required"]:
            r["default"] = json.dumps(q["default"])
            section[q["name"]] = q["default"]
        if q["min"] is not None:
            r["min"] = q["min"] if q["min"] not in (float("inf"), float("-inf")) else str(q["min"])
            r["max"] = q["max"] if q["max"] not in (float("inf"), float("-inf")) else str(q["max"])
        if q["choices"]:
            r["choices"] = "|".join(q["choices"])
        rows.append(r)
    text = json.dumps(rows).encode() + b"\0" + json.dumps(section).encode()
    open(sys.argv[1] + "/" + p["kind"] + "-" + p["name"], "wb").write(text)
' $out/params
# ---- model-dir: config.json of folders written by `lifelong run
# --save-model` (a tiny transformer on a two-domain text corpus: the
# harness's own model, so the load succeeds; the transformer of
# docs/transformer.md; an MLP, whose config.json is only the lifelong
# member), then hand-made variants
mkdir -p $tmp/text
python3 - "$tmp/text" <<'EOF'
import random, sys
r = random.Random(7)
words = [["the", "kernel", "boots", "a", "fast", "disk", "and", "compiles"],
         ["every", "star", "shines", "over", "cold", "oceans", "while", "moons"]]
for d, name in enumerate(["alpha", "beta"]):
    text = "".join(" ".join(r.choice(words[d]) for _ in range(r.randint(3, 8))) + ".\n%\n" for _ in range(40))
    open(f"{sys.argv[1]}/{name}", "w").write(text)
EOF
for m in 'tiny|"d_model": 8, "layers": 1, "heads": 2, "kv_heads": 1, "ff": 16, "context": 16|16' \
         'docs|"d_model": 32, "layers": 2, "heads": 4, "kv_heads": 2, "context": 48|48'; do
  IFS='|' read -r name model ctx <<<"$m"
  cat > $tmp/lm-$name.json <<EOF
{"model": {"name": "transformer", $model}, "strategy": {"name": "naive"},
 "dataset": {"name": "fortunes", "path": "$tmp/text", "domains": ["en/alpha", "en/beta"]},
 "scenario": {"type": "continual-pretraining", "context": $ctx},
 "train": {"batch_size": 8, "lr": 0.01, "tokens": 500}, "seed": 3}
EOF
  $exe run $tmp/lm-$name.json --out $tmp/lm-$name-r.json --quiet --save-model $tmp/saved-$name
done
cp $tmp/saved-tiny/config.json $out/model-dir/tiny-transformer.json
cp $tmp/saved-docs/config.json $out/model-dir/transformer-d32-conflicts.json
cat > $tmp/mlp.json <<EOF
{"model": {"name": "mlp", "hidden": [4]}, "strategy": {"name": "naive"},
 "dataset": $synthetic, "scenario": {"experiences": 2}, "train": {"epochs": 1, "batch_size": 16}}
EOF
$exe run $tmp/mlp.json --out $tmp/mlp-r.json --quiet --save-model $tmp/saved-mlp
cp $tmp/saved-mlp/config.json $out/model-dir/mlp.json
python3 - "$out/model-dir" <<'EOF'
import json, sys
d = sys.argv[1]
tiny = json.load(open(f"{d}/tiny-transformer.json"))
def put(name, obj):
    open(f"{d}/{name}", "w").write(json.dumps(obj, indent=2) + "\n")
# a run that itself started from a checkpoint; a classifier's config
v = json.loads(json.dumps(tiny)); v["lifelong"]["started_from"] = "/tmp/earlier"; put("started-from.json", v)
v = json.loads(json.dumps(tiny)); v["architectures"] = ["LlamaForSequenceClassification"]; v["num_labels"] = 3
v["lifelong"].update(tokenizer=None, classes=3); put("classifier.json", v)
# only the keys check_conflicts compares, numbers written as floats
put("lifelong-only-floats.json", {"lifelong": {"model": {"name": "transformer", "d_model": 8.0, "layers": 1,
                                                         "heads": 2.0, "kv_heads": 1, "ff": 16, "vocab": 0}}})
# a Hugging Face config without the lifelong member
hf = {k: v for k, v in tiny.items() if k != "lifelong"}
put("hugging-face-only.json", hf)
put("lifelong-not-an-object.json", {"model_type": "llama", "lifelong": [1, 2]})
EOF

# ---- interaction-log: a simulated user's day with the tiny transformer
# (`lifelong simulate-user`, docs/evolve.md), then hand-made variants
mkdir -p $out/interaction-log
$exe simulate-user --model $tmp/saved-tiny --day 2 --new 3 --repeats 2 \
  --out $out/interaction-log/simulated-day2.jsonl >/dev/null
python3 - "$out/interaction-log" <<'EOF'
import sys
d = sys.argv[1]
def put(name, text):
    open(f"{d}/{name}", "wb").write(text)
put("accepted-and-corrected.jsonl", b'{"prompt": "what is my dog\'s name?", "reply": "Max", "correction": "Rex"}\n'
    b'\n{"prompt": "which city do I live in?", "reply": "Oslo"}\n')
put("unicode-escapes.jsonl", b'{"prompt": "caf\\u00e9?", "reply": "\\u00fcber", "correction": "ok \\ud83d\\ude00"}\n')
put("escaped-newline.jsonl", b'{"prompt": "a\\nb?", "reply": "x"}\n')
put("escaped-nul.jsonl", b'{"prompt": "a\\u0000b?", "reply": "x"}\n')
put("raw-nul.jsonl", b'{"prompt": "a?", "reply": "x"}\n\0\n')
put("null-correction.jsonl", b'{"prompt": "a?", "reply": "x", "correction": null}\n')
put("unknown-field.jsonl", b'{"prompt": "a?", "reply": "x", "corection": "y"}\n')
put("not-an-object.jsonl", b'[{"prompt": "a?", "reply": "x"}]\n')
put("empty-reply-accepted.jsonl", b'{"prompt": "a?", "reply": ""}\n')
put("long-prompt.jsonl", b'{"prompt": "' + b"q" * 1001 + b'", "reply": "x"}\n')
put("truncated.jsonl", b'{"prompt": "a?", "reply": "x"}\n{"prompt": "b?", "re')
put("blank.jsonl", b"\n \n\t\n")
EOF

ls -R $out | head -50
