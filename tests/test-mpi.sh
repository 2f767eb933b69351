#!/usr/bin/env bash
# lifelong tests — lifelong-mpi: `mpirun -np 2` spreads a matrix's cells over
# a worker rank; every cell ends ok, with the same numbers as `lifelong
# matrix` gives for the same cells.  TAP output.
set -u
exe=$1; mpi_exe=$2; plugins=$3
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMPI_MCA_rmaps_base_oversubscribe=1
# Under the sanitizer build: Open MPI's plugins (MCA components) leak at
# exit and are unloaded by then, so LeakSanitizer cannot even name them; the
# cells themselves are ordinary `lifelong run` processes, checked with leak
# detection by every other test.
export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/matrix.json" <<JSON
{"base": {"dataset": {"name": "synthetic", "classes": 4, "dim": 16, "train_per_class": 60},
          "train": {"epochs": 3, "batch_size": 16, "lr": 0.03}},
 "models": [{"name": "mlp", "hidden": [16]}],
 "strategies": [{"name": "naive"}, {"name": "cumulative"}, {"name": "task-only"}],
 "datasets": [{"name": "synthetic"}],
 "scenarios": [{"type": "class-incremental", "experiences": 2}],
 "seeds": [0, 1]}
JSON
echo "1..3"
if mpirun -np 2 "$mpi_exe" "$dir/matrix.json" --out "$dir/mpi" --plugin-path "$plugins" --quiet > "$dir/mpi.log" 2>&1; then
  echo "ok 1 /mpi/run"
else
  echo "not ok 1 /mpi/run"; sed 's/^/# /' "$dir/mpi.log"
fi
"$exe" matrix "$dir/matrix.json" --out "$dir/local" --plugin-path "$plugins" --quiet > /dev/null 2>&1
/usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
mpi = json.load(open(f"{d}/mpi/index.json"))["cells"]
st = [c["status"] for c in mpi]
print(("ok" if st.count("ok") == 4 and st.count("skipped") == 2 else "not ok") + " 2 /mpi/statuses # " + " ".join(st))
same = all(json.load(open(f"{d}/mpi/cells/{c['id']}/result.json"))["matrix"]
           == json.load(open(f"{d}/local/cells/{c['id']}/result.json"))["matrix"]
           for c in mpi if c["status"] == "ok")
print(("ok" if same else "not ok") + " 3 /mpi/same-numbers-as-matrix")
PY
