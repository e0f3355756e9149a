#!/usr/bin/env bash
# Installs dependencies and test peers, builds, runs every test, and ends with
# the line "N passed, N failed" counted from meson's test log.
set -uo pipefail
cd "$(dirname "$0")/.."

bash tools/setup.sh --test || { echo "0 passed, 1 failed"; exit 1; }

rm -f build/meson-logs/testlog.json
meson test -C build --print-errorlogs --num-processes 2 "$@"
meson_status=$?

python3 - build/meson-logs/testlog.json <<'PY'
import json, sys
passed = failed = skipped = 0
try:
    with open(sys.argv[1]) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            result = json.loads(line).get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
except FileNotFoundError:
    failed += 1
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
count_status=$?
if [[ $count_status -ne 0 || $meson_status -ne 0 ]]; then exit 1; fi
