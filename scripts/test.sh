#!/usr/bin/env bash
# The README's test command: installs the dependencies, builds lifelong, runs
# the suite, then builds and runs it again under AddressSanitizer +
# UndefinedBehaviorSanitizer.  Ends with the line 'N passed, N failed'.
# LIFELONG_NO_SANITIZE=1 skips the sanitizer pass (quicker local runs).
set -uo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
logs=()
status=0
broken=0   # builds that failed: each counts as a failure in the closing line
run_suite () {   # build-dir, meson options...
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" "$@" >/dev/null || { echo "setup of $dir failed"; status=1; broken=$((broken + 1)); return; }
  fi
  ninja -C "$dir" || { echo "build in $dir failed"; status=1; broken=$((broken + 1)); return; }
  meson test -C "$dir" --num-processes 2 --print-errorlogs || status=1
  logs+=("$dir/meson-logs/testlog.json")
}
run_suite build -Dwerror=true
if [ "${LIFELONG_NO_SANITIZE:-0}" != 1 ]; then
  export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
  run_suite build-asan -Db_sanitize=address,undefined -Dbuildtype=debugoptimized -Dwerror=true
fi
/usr/bin/python3 scripts/count-tests.py --extra-failed "$broken" "${logs[@]}" || status=1
exit $status
