#!/usr/bin/env bash
# lifelong under valgrind's memcheck: a short `lifelong run` (the synthetic
# dataset, 2 experiences), a short `lifelong matrix` (2 cells, each cell's
# `lifelong run` traced too) and `lifelong report` of that matrix.  Each
# process must show no memory error (invalid read or write, use of
# uninitialised memory, bad free) and no definitely lost block; "possibly
# lost" and "still reachable" blocks (BLIS's packing pool, GLib's type
# system, one-time caches) are listed but not errors.  TAP on stdout.
#
# Outside the default suite (a minute or two): `meson test -C BUILD --suite
# valgrind`, or `bash tests/valgrind.sh BUILD/framework/lifelong`.
# docs/reliability.md.
set -uo pipefail
exe=${1:?usage: tests/valgrind.sh LIFELONG_EXE}
here=$(cd "$(dirname "$0")" && pwd)
if ! command -v valgrind >/dev/null; then
  echo "1..0 # SKIP valgrind is not installed (scripts/install-deps.sh --valgrind)"
  exit 0
fi
if ldd "$exe" 2>/dev/null | grep -q libasan; then
  echo "1..0 # SKIP $exe is built with AddressSanitizer, which does not run under valgrind"
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# valgrind.supp holds the suppressions (each entry says why); there are none
# today: no definitely lost block outside lifelong needed one.
vg=(valgrind --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite
    --error-exitcode=99 --num-callers=40 --suppressions="$here/valgrind.supp" --trace-children=yes)

# BLIS's kernels: valgrind 3.19 has no AVX-512 and hides it from cpuid, so
# lifelong picks haswell itself; an skx forced from the environment would
# die of SIGILL, so it is replaced by haswell's id (3 in BLIS 0.9).
unset BLIS_ARCH_TYPE
arch=$(valgrind -q "$exe" --version 2>&1 | grep 'blis kernel set')
echo "# under valgrind: $arch"
case $arch in
  *"kernel set: skx"*) export BLIS_ARCH_TYPE=3; echo "# skx under valgrind: BLIS_ARCH_TYPE=3 (haswell)" ;;
esac

cat >"$tmp/run.json" <<'EOF'
{"model": {"name": "mlp", "hidden": [16]}, "strategy": {"name": "er", "buffer_size": 20},
 "dataset": {"name": "synthetic", "classes": 4, "dim": 8, "train_per_class": 40, "test_per_class": 20},
 "scenario": {"type": "class-incremental", "experiences": 2},
 "train": {"epochs": 1, "batch_size": 16}, "seed": 0}
EOF
cat >"$tmp/matrix.json" <<'EOF'
{"base": {"dataset": {"name": "synthetic", "classes": 4, "dim": 8, "train_per_class": 40, "test_per_class": 20},
          "train": {"epochs": 1, "batch_size": 16}},
 "models": [{"name": "mlp", "hidden": [16]}],
 "strategies": [{"name": "naive"}, {"name": "ewc", "lambda": 10}],
 "datasets": [{"name": "synthetic"}], "scenarios": [{"experiences": 2}], "seeds": [0]}
EOF

# instruction tuning: the generator, greedy generation with the key/value
# cache, and lamol's and ssr's sampling, snapshots and pseudo-sample batches
for s in lamol ssr; do
  cat >"$tmp/instruct-$s.json" <<EOF
{"model": {"name": "transformer", "d_model": 16, "layers": 1, "heads": 2, "context": 40},
 "strategy": {"name": "$s", "gamma": 0.1},
 "dataset": {"name": "instructions", "tasks": ["count-words", "add"], "train_per_task": 40, "test_per_task": 4,
             "max_words": 3, "max_number": 20, "general_texts": 4},
 "scenario": {"type": "instruction-tuning", "context": 40, "generations": 1},
 "train": {"epochs": 1, "batch_size": 8, "lr": 0.005}, "seed": 0}
EOF
done

n=0
failed=0
check () {   # name, command...: runs it under valgrind, one log per process
  local name=$1; shift
  n=$((n + 1))
  local logs=$tmp/$name
  mkdir -p "$logs"
  "${vg[@]}" --log-file="$logs/vg.%p.log" "$@" >"$logs/out.txt" 2>&1
  local rc=$?
  local bad=0 procs=0
  for log in "$logs"/vg.*.log; do
    procs=$((procs + 1))
    local cmd errors lost
    cmd=$(grep -m1 'Command:' "$log" | sed 's/.*Command: //')
    errors=$(grep -o 'ERROR SUMMARY: [0-9]*' "$log" | awk '{print $3}')
    lost=$(grep -o 'definitely lost: [0-9,]* bytes' "$log" | awk '{print $3}')
    echo "# $name: ${cmd:0:100}: ${errors:-?} errors, ${lost:-0} bytes definitely lost"
    if [ "${errors:-1}" != 0 ] || { [ -n "$lost" ] && [ "$lost" != 0 ]; }; then
      bad=1
      sed 's/^/#   /' "$log"
    fi
  done
  if [ $rc -ne 0 ] || [ $bad -ne 0 ]; then
    failed=$((failed + 1))
    echo "not ok $n - $name (exit $rc; $procs processes)"
    sed 's/^/#   /' "$logs/out.txt"
  else
    echo "ok $n - $name ($procs processes)"
  fi
}

echo "1..5"
check run "$exe" run "$tmp/run.json" --out "$tmp/run-result.json" --quiet
check instruct-lamol "$exe" run "$tmp/instruct-lamol.json" --out "$tmp/instruct-lamol-result.json" --quiet
check instruct-ssr "$exe" run "$tmp/instruct-ssr.json" --out "$tmp/instruct-ssr-result.json" --quiet
check matrix "$exe" matrix "$tmp/matrix.json" --out "$tmp/mx" --quiet
check report "$exe" report "$tmp/mx" --quiet
[ $failed -eq 0 ]
