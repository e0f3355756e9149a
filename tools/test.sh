#!/usr/bin/env bash
# Installs dependencies and test peers, builds, runs every test, and ends with
# the line "N passed, N failed" counted from meson's test logs.
#
# Stages (ACTORRENT_TEST_STAGES; default "main tsan fuzz", which fits a CI run
# on two cores; "main asan tsan fuzz" adds the ASan build, ~10 min more there):
#   main  the release build: unit, fuzz-corpus, end-to-end, simulation, install
#   asan  unit, fuzz-corpus, simulation and chosen end-to-end tests under
#         AddressSanitizer + UBSan (build-asan/)
#   tsan  threads-meet tests under ThreadSanitizer, CAF built with it (build-tsan/)
#   fuzz  every libFuzzer target for ACTORRENT_FUZZ_SECONDS (default 30) each,
#         coverage-guided (tools/fuzz.sh, build-fuzz/); each target counts as a test
# Arguments are passed to the main stage's `meson test` (e.g. a test name).
set -uo pipefail
cd "$(dirname "$0")/.."

stages=${ACTORRENT_TEST_STAGES:-main tsan fuzz}
results=$(mktemp -d)
trap 'rm -rf "$results"' EXIT

bash tools/setup.sh --test || { echo "0 passed, 1 failed"; exit 1; }

status=0
for stage in $stages; do
  echo "=== stage $stage ==="
  start=$SECONDS
  case $stage in
    main)
      rm -f build/meson-logs/testlog.json
      meson test -C build --print-errorlogs --num-processes 2 "$@" || status=1
      log=build/meson-logs/testlog.json ;;
    asan)
      bash tools/sanitizers/run.sh asan || status=1
      log=build-asan/meson-logs/testlog.json ;;
    tsan)
      bash tools/sanitizers/run.sh tsan || status=1
      log=build-tsan/meson-logs/testlog.json ;;
    fuzz)
      log=$results/fuzz.log
      bash tools/fuzz.sh "${ACTORRENT_FUZZ_SECONDS:-30}" | tee "$results/fuzz.out" || status=1
      # Its table: "target execs execs/s cov ft corpus result", one line each.
      python3 - "$results/fuzz.out" > "$log" <<'TABLE'
import json, sys
rows = [line.split() for line in open(sys.argv[1])]
start = next((i for i, r in enumerate(rows) if r[:2] == ["target", "execs"]), None)
for r in rows[start + 1:] if start is not None else []:
    if len(r) >= 7:
        print(json.dumps({"name": "libfuzzer_" + r[0], "result": "OK" if r[6] == "ok" else "FAIL"}))
TABLE
      [[ -s $log ]] || rm -f "$log" ;;
    *) echo "unknown stage $stage" >&2; echo "0 passed, 1 failed"; exit 1 ;;
  esac
  # A stage that could not even run its tests (a failed build) leaves no log:
  # it counts as one failure under its own name.
  if [[ -f $log ]]; then cp "$log" "$results/$stage.json"; else echo "{\"name\": \"stage $stage\", \"result\": \"ERROR\"}" > "$results/$stage.json"; fi
  echo "=== stage $stage: $((SECONDS - start)) s ==="
done

python3 - "$results" $stages <<'PY'
import json, os, sys
folder, stages = sys.argv[1], sys.argv[2:]
passed = failed = skipped = 0
for stage in stages:
    with open(os.path.join(folder, stage + ".json")) as f:
        for line in f:
            line = line.strip()
            if not line:
                continue
            entry = json.loads(line)
            result = entry.get("result", "")
            if result in ("OK", "EXPECTEDFAIL"):
                passed += 1
            elif result == "SKIP":
                skipped += 1
            else:
                failed += 1
                print(f"FAILED [{stage}] {entry.get('name', '?')}: {result}")
print(f"{passed} passed, {failed} failed" + (f", {skipped} skipped" if skipped else ""))
sys.exit(1 if failed else 0)
PY
count_status=$?
if [[ $count_status -ne 0 || $status -ne 0 ]]; then exit 1; fi
