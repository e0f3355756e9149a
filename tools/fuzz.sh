#!/usr/bin/env bash
# Coverage-guided fuzzing of the parsers with libFuzzer (clang).
#
#   tools/fuzz.sh [--merge] [--jobs N] SECONDS [NAME...]
#
# Configures (if needed) and builds build-fuzz/ with -Dfuzzing=true, then runs
# each target (all of test/fuzz/ by default, or the NAMEs given, e.g.
# "bencode wire") for SECONDS, two at a time. Each target works on its own
# copy of test/fuzz/corpus/<name> in build-fuzz/corpus/<name>, which later
# runs keep growing; findings go to build-fuzz/artifacts/<name>/ and the full
# libFuzzer output to build-fuzz/logs/<name>.log; test/fuzz/dict/<name>.dict,
# if there, is passed as -dict. The source tree is written
# only with --merge: new inputs that add coverage are then minimised into
# test/fuzz/corpus/<name>/ (and become seeds the GCC test suite replays).
#
# One line per target: executions, executions per second, coverage (libFuzzer's
# cov = edges, ft = features), corpus size (units/bytes), and the result: ok, or crash /
# leak / timeout / oom with the input that caused it. Exit status 0 if every
# target ran clean, 1 on any finding, 2 if clang or libFuzzer is missing.
set -uo pipefail
cd "$(dirname "$0")/.."

usage() {
  echo "usage: tools/fuzz.sh [--merge] [--jobs N] SECONDS [NAME...]" >&2
  exit 2
}

merge=0
jobs=2
while (($#)); do
  case "$1" in
    --merge) merge=1; shift ;;
    --jobs) [[ $# -ge 2 && "$2" =~ ^[1-9][0-9]*$ ]] || usage; jobs=$2; shift 2 ;;
    -h|--help) usage ;;
    *) break ;;
  esac
done
[[ $# -ge 1 && "$1" =~ ^[1-9][0-9]*$ ]] || usage
seconds=$1
shift

build=build-fuzz
rss_limit_mb=2048
# A single input taking this long is a hang: every parser here is linear.
unit_timeout=10

# --- toolchain ---------------------------------------------------------------
missing_toolchain() {
  echo "error: $1" >&2
  echo "install clang and libFuzzer: apt-get install clang libclang-rt-14-dev" >&2
  exit 2
}
command -v clang++ >/dev/null || missing_toolchain "clang++ not found"
for tool in meson ninja; do
  command -v "$tool" >/dev/null || { echo "error: $tool not found: apt-get install meson ninja-build" >&2; exit 2; }
done
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '%s\n' '#include <cstddef>' '#include <cstdint>' \
  'extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t*, std::size_t) { return 0; }' \
  >"$probe/probe.cpp"
if ! clang++ -fsanitize=fuzzer,address,undefined "$probe/probe.cpp" -o "$probe/probe" 2>"$probe/err"; then
  sed -n 1,5p "$probe/err" >&2
  missing_toolchain "clang++ cannot link a libFuzzer target"
fi

# --- build -------------------------------------------------------------------
if [[ ! -f $build/build.ninja ]]; then
  CXX=clang++ meson setup "$build" -Dfuzzing=true --buildtype=debugoptimized >"$probe/setup.log" 2>&1 || {
    cat "$probe/setup.log" >&2
    echo "error: meson setup $build failed" >&2
    exit 1
  }
fi
ninja -C "$build" >"$probe/build.log" 2>&1 || {
  tail -40 "$probe/build.log" >&2
  echo "error: building $build failed" >&2
  exit 1
}

targets=("$@")
if ((${#targets[@]} == 0)); then
  for exe in "$build"/test/fuzz/fuzz_*; do
    [[ -f $exe && -x $exe ]] && targets+=("${exe##*/fuzz_}")
  done
fi
for name in "${targets[@]}"; do
  [[ -x $build/test/fuzz/fuzz_$name ]] || { echo "error: no fuzz target '$name' in $build/test/fuzz" >&2; exit 2; }
done

# --- run ---------------------------------------------------------------------
mkdir -p "$build/logs"

run_target() {
  local name=$1
  local exe=$build/test/fuzz/fuzz_$name
  local corpus=$build/corpus/$name
  local artifacts=$build/artifacts/$name
  local log=$build/logs/$name.log
  mkdir -p "$corpus" "$artifacts"
  if [[ -d test/fuzz/corpus/$name ]]; then cp -n test/fuzz/corpus/"$name"/* "$corpus"/ 2>/dev/null; fi
  local extra=()
  # Tokens of the format, which mutations alone find slowly.
  if [[ -f test/fuzz/dict/$name.dict ]]; then extra+=(-dict="test/fuzz/dict/$name.dict"); fi
  # timeout(1) is a backstop only: libFuzzer stops itself after -max_total_time.
  timeout --kill-after=30 $((seconds + 120)) "$exe" \
    -max_total_time="$seconds" -print_final_stats=1 -rss_limit_mb="$rss_limit_mb" \
    -timeout="$unit_timeout" -artifact_prefix="$artifacts/" "${extra[@]}" "$corpus" >"$log" 2>&1
  echo $? >"$build/logs/$name.status"
}

running=0
for name in "${targets[@]}"; do
  if ((running >= jobs)); then
    wait -n
    running=$((running - 1))
  fi
  run_target "$name" &
  running=$((running + 1))
done
wait

# --- report ------------------------------------------------------------------
stat() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

findings=0
printf '%-14s %12s %9s %7s %7s %12s  %s\n' target execs execs/s cov ft corpus result
for name in "${targets[@]}"; do
  log=$build/logs/$name.log
  status=$(cat "$build/logs/$name.status" 2>/dev/null || echo 1)
  execs=$(stat number_of_executed_units "$log")
  rate=$(stat average_exec_per_sec "$log")
  # The last status line libFuzzer printed: "#N ... cov: C ft: F corp: ..."
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | cut -d' ' -f2)
  # libFuzzer's live corpus (units/bytes); the directory also keeps inputs
  # that later ones superseded.
  corpus=$(grep -o 'corp: [0-9]*/[0-9]*[a-zA-Z]*' "$log" | tail -1 | cut -d' ' -f2)
  [[ -n $corpus ]] || corpus="$(find "$build/corpus/$name" -type f | wc -l) files"
  artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -1)
  result=ok
  if grep -q 'ERROR: libFuzzer: timeout' "$log"; then result=timeout
  elif grep -q 'ERROR: LeakSanitizer' "$log"; then result=leak
  elif grep -q 'ERROR: libFuzzer: out-of-memory' "$log"; then result=oom
  elif [[ -n $artifact || $status != 0 ]]; then result=crash
  fi
  if [[ $result != ok ]]; then
    findings=$((findings + 1))
    result+=" ${artifact:-(no artifact; exit status $status, see $log)}"
  fi
  printf '%-14s %12s %9s %7s %7s %12s  %s\n' "$name" "${execs:-?}" "${rate:-?}" "${cov:-?}" \
    "${ft:-?}" "$corpus" "$result"
done

if ((merge)); then
  for name in "${targets[@]}"; do
    mkdir -p "test/fuzz/corpus/$name"
    before=$(find "test/fuzz/corpus/$name" -type f | wc -l)
    "$build/test/fuzz/fuzz_$name" -merge=1 -rss_limit_mb="$rss_limit_mb" -timeout="$unit_timeout" \
      "test/fuzz/corpus/$name" "$build/corpus/$name" >"$build/logs/$name.merge.log" 2>&1 ||
      echo "warning: merging into test/fuzz/corpus/$name failed, see $build/logs/$name.merge.log" >&2
    after=$(find "test/fuzz/corpus/$name" -type f | wc -l)
    echo "merged $((after - before)) new inputs into test/fuzz/corpus/$name"
  done
fi

((findings == 0))
