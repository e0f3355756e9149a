#!/usr/bin/env bash
# Builds actorrent with a sanitizer in a build directory of its own and runs
# tests there. Usage: tools/sanitizers/run.sh asan|tsan [meson test args]
#   asan: AddressSanitizer + UndefinedBehaviorSanitizer (LeakSanitizer
#         included), every suite but `install` (which builds a program against
#         the installed library without sanitizer flags).
#   tsan: ThreadSanitizer against a CAF built from source with it (see
#         build_caf.sh), the tests in which threads meet: actors, sockets,
#         session, trackers, the status server and a chosen set of end-to-end
#         runs (tracker, direct peers, liars, end-game, seeding to aria2c,
#         a magnet link, rate limits).
# Any sanitizer report fails the test that produced it.
set -uo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
kind=${1:?usage: run.sh asan|tsan}
shift

# Tests that bound the client's memory do not judge it under a sanitizer.
export ACTORRENT_SANITIZER=$kind

case $kind in
  asan)
    dir=build-asan
    if [[ ! -f $dir/build.ninja ]]; then
      meson setup $dir --buildtype=debugoptimized -Doptimization=1 -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null || exit 1
    fi
    export ASAN_OPTIONS=halt_on_error=1:detect_leaks=1:detect_stack_use_after_return=0:strict_string_checks=1
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1:suppressions=$root/tools/sanitizers/ubsan.supp
    if [[ ${ACTORRENT_SANITIZE_ALL:-0} == 1 ]]; then
      # Every test but: `install` (it builds a program against the installed
      # library without sanitizer flags), the harness's own self-test and the
      # browser test (their subjects are the harness and Chromium), and the
      # sync-order test (it runs the client under strace, and LeakSanitizer
      # cannot stop threads of a traced process).
      tests=($(meson test -C $dir --list 2>/dev/null | sed -n 's|^actorrent:[a-z0-9]* / ||p' |
               grep -vx -e install -e e2e_swarm_selftest -e e2e_status_browser \
                    -e e2e_resume_durability))
    else
      # Within the time of a CI run: every unit test, fuzz-corpus replay and
      # simulation, and the end-to-end runs whose code the others do not
      # reach (magnets, UDP and HTTPS trackers, hostile peers and trackers,
      # disk full, the status page, seeding, rate limits).
      tests=($(meson test -C $dir --list 2>/dev/null | sed -n 's#^actorrent:\(unit\|fuzz\|sim\) / ##p')
             e2e_download_tracker e2e_download_multifile e2e_bad_peers e2e_endgame
             e2e_seed_aria2 e2e_hostile_leechers e2e_failures e2e_disk_full
             e2e_magnet_download e2e_magnet_serve e2e_udp_tracker_faults e2e_https_tracker
             e2e_hostile_trackers e2e_status_page e2e_rate_limits e2e_lenient_torrents)
    fi
    ;;
  tsan)
    dir=build-tsan
    caf=$root/build-caf-tsan
    bash tools/sanitizers/build_caf.sh "$caf/work" "$caf/prefix" "-fsanitize=thread -O1 -g" || exit 1
    if [[ ! -f $dir/build.ninja ]]; then
      # Asio's fenced blocks use atomic_thread_fence, which ThreadSanitizer
      # does not model; its queues and strands synchronise with mutexes,
      # which it does.
      meson setup $dir --buildtype=debugoptimized -Doptimization=1 -Db_sanitize=thread -Db_lundef=false \
        -Dcaf_prefix="$caf/prefix" -Dcpp_args="-DASIO_DISABLE_FENCED_BLOCK -Wno-tsan" >/dev/null || exit 1
    fi
    export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:history_size=4
    tests=(actors router tcp_connection mse_connection web_seed_connection session tracker_actor
           udp_tracker http_server status_server e2e_download_tracker e2e_download_direct
           e2e_bad_peers e2e_endgame e2e_seed_aria2 e2e_magnet_download e2e_rate_limits
           e2e_encryption_libtorrent e2e_web_seed_peer e2e_two_torrents)
    ;;
  *) echo "usage: run.sh asan|tsan" >&2; exit 2 ;;
esac

# Only what the chosen tests run is built (a sanitizer build is slow).
targets=(tools/actorrent)
for t in "${tests[@]}"; do
  [[ -f test/test_$t.cpp ]] && targets+=(test/test_$t)
done
[[ $kind == asan ]] && targets=()  # its selection spans nearly everything
ninja -C $dir "${targets[@]}" >/dev/null || { ninja -C $dir "${targets[@]}" | tail -30; exit 1; }
rm -f $dir/meson-logs/testlog.json
meson test -C $dir --no-rebuild --print-errorlogs --num-processes 2 --timeout-multiplier 3 \
  "${tests[@]}" "$@"
