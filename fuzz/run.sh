#!/usr/bin/env bash
# Runs every libFuzzer harness (or the ones named) for a bounded time and
# prints, per target, the executions, their rate, the corpus it grew and
# any crash.  Not part of `meson test`; docs/reliability.md.
#
#   fuzz/run.sh [TARGET...]   targets: config matrix idx safetensors report report-html params
#                             model-dir interaction-log
#
#   FUZZ_SECONDS   seconds per target (default 60)
#   FUZZ_BUILD     the build directory (default build-fuzz; set up with
#                  CC=clang meson setup build-fuzz -Dfuzz=true when missing)
#   FUZZ_JOBS      targets run at once (default 1)
#   FUZZ_NO_BUILD  1: run the harnesses as they are built (no ninja first)
#
# Each target starts from fuzz/corpus/<target>/ (the seeds, never written)
# and fuzz/regressions/<target>/ (inputs that once crashed), and keeps what
# it learns in $FUZZ_BUILD/fuzz/work/<target>/, so a second run goes on
# from there.  A crash is saved as $FUZZ_BUILD/fuzz/crashes/<target>/crash-*
# with the harness's report in $FUZZ_BUILD/fuzz/logs/<target>.log; replay it
# with `$FUZZ_BUILD/fuzz/fuzz-<target> FILE`, then copy it to
# fuzz/regressions/<target>/ (with a name that says what it was) so that
# the default test suite replays it (tests/fuzz-replay.c).  Exit status 1
# when any target crashed.
set -uo pipefail
cd "$(dirname "$0")/.."
all=(config matrix idx safetensors report report-html params model-dir interaction-log)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all[@]}")
secs=${FUZZ_SECONDS:-60}
build=${FUZZ_BUILD:-build-fuzz}
jobs=${FUZZ_JOBS:-1}

if [ ! -f "$build/build.ninja" ]; then
  CC=clang meson setup "$build" -Dfuzz=true >/dev/null || { echo "fuzz: meson setup $build failed" >&2; exit 1; }
fi
if [ "${FUZZ_NO_BUILD:-0}" != 1 ]; then
  ninja -C "$build" >/dev/null || { echo "fuzz: the build in $build failed (ninja -C $build)" >&2; exit 1; }
fi

fuzz_one () {   # target
  local t=$1 exe=$build/fuzz/fuzz-$1
  local work=$build/fuzz/work/$t crashes=$build/fuzz/crashes/$t log=$build/fuzz/logs/$t.log
  mkdir -p "$work" "$crashes/earlier" "$(dirname "$log")"
  mv "$crashes"/crash-* "$crashes"/leak-* "$crashes"/timeout-* "$crashes"/oom-* "$crashes/earlier/" 2>/dev/null
  local src=${t%-html}   # report-html reads the report seeds
  local seeds=(fuzz/corpus/"$src")
  [ -d fuzz/regressions/"$src" ] && seeds+=(fuzz/regressions/"$src")
  # -rss_limit_mb: libFuzzer's default 2 GB (a malloc larger than that is
  # reported as a crash: an input must not make the reader allocate it);
  # -timeout: one input taking 10 s is a hang; -max_len: inputs up to 16 KiB
  # (the seed checkpoints and matrix directories are a few KiB).
  "$exe" "$work" "${seeds[@]}" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -max_len=16384 \
    -artifact_prefix="$crashes/" -print_final_stats=1 >"$log" 2>&1
  echo $? >"$log.rc"
}

running=0
for t in "${targets[@]}"; do
  [ -x "$build/fuzz/fuzz-$t" ] || { echo "fuzz: no target $t (targets: ${all[*]})" >&2; exit 2; }
  echo "fuzz: $t for ${secs}s ..." >&2
  fuzz_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait -n
    running=$((running - 1))
  fi
done
wait

status=0
printf '%-12s %12s %10s %8s %8s  %s\n' target executions exec/s corpus cov crashes
for t in "${targets[@]}"; do
  log=$build/fuzz/logs/$t.log
  execs=$(grep -o 'stat::number_of_executed_units: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  [ -z "$execs" ] && execs=$(grep -oE '^#[0-9]+' "$log" | tail -1 | tr -d '#')   # after a crash: the last progress line
  rate=$(grep -oE 'stat::average_exec_per_sec: +[0-9]+' "$log" | tail -1 | awk '{print $2}')
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  corpus=$(ls "$build/fuzz/work/$t" | wc -l)
  rc=$(cat "$log.rc")
  found=$(cd "$build/fuzz/crashes/$t" && ls -p | grep -v / | tr '\n' ' ')
  if [ "$rc" != 0 ]; then
    status=1
    what=$(grep -m1 -E 'ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error|ERROR \*\*|CRITICAL \*\*' "$log")
    printf '%-12s %12s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${cov:-?}" "CRASH: ${what:-exit $rc} ($found; log $log)"
  else
    printf '%-12s %12s %10s %8s %8s  %s\n' "$t" "${execs:-?}" "${rate:-?}" "$corpus" "${cov:-?}" "${found:-none}"
  fi
done
exit $status
