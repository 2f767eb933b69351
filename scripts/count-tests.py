"""Counts TAP subtests in meson's testlog.json files and prints the closing
line CI reads: 'N passed, N failed' (and skipped).  A test executable that
failed without a 'not ok' line (a crash, a timeout) counts as one failure.
Exit status 1 if anything failed."""
import json
import sys

passed = failed = skipped = 0
args = sys.argv[1:]
if args[:1] == ["--extra-failed"]:
    failed += int(args[1])
    args = args[2:]
for path in args:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout") or ""
            oks = nots = skips = 0
            for l in out.splitlines():
                if l.startswith("ok "):
                    if "# SKIP" in l:
                        skips += 1
                    else:
                        oks += 1
                elif l.startswith("not ok "):
                    nots += 1
            if t["result"] not in ("OK", "SKIP", "EXPECTEDFAIL") and nots == 0:
                nots = 1
                print(f"FAILED: {t['name']} ({t['result']}) in {path}")
            elif nots:
                print(f"FAILED: {t['name']}: {nots} subtest(s) in {path}")
            passed += oks
            failed += nots
            skipped += skips
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
