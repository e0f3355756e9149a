#!/usr/bin/env bash
# Installs what actorrent needs on Debian bookworm (only what is missing) and
# builds it into build/. Usage: tools/setup.sh [--test]   (--test adds the real
# peers and trackers the test suite runs against).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(g++ meson ninja-build pkg-config libcaf-dev libasio-dev libssl-dev doctest-dev)
if [[ "${1:-}" == "--test" ]]; then
  # cmake: CAF built from source for the ThreadSanitizer stage; strace: the
  # test that checks the order of syncs before a resume save; openssl: test
  # certificates for the https tracker; clang and libFuzzer: tools/fuzz.sh
  # (coverage-guided fuzzing, docs/FUZZING.md).
  packages+=(python3 python3-libtorrent aria2 transmission-cli opentracker mktorrent time cmake strace openssl
             clang libclang-rt-14-dev)
  # The status page in a real browser (test/e2e/test_status_browser.py).
  packages+=(chromium chromium-driver)
fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then
    echo "error: these packages are missing and installing them needs root: ${missing[*]}" >&2
    exit 1
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q
  apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [[ ! -f build/build.ninja ]]; then
  meson setup build --buildtype=release
fi
ninja -C build
