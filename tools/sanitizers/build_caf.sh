#!/usr/bin/env bash
# Builds CAF 0.17.6 (core and io) from Debian's source package with the given
# sanitizer flags and installs it into PREFIX, for a build of actorrent with
# -Dcaf_prefix=PREFIX. ThreadSanitizer needs this: Debian's prebuilt libcaf_core
# is not instrumented, so every message hand-off between actors looks like a
# data race to it. The source is fetched at run time through apt (signed
# Sources index, checked hashes) and never kept in the repository.
# Usage: tools/sanitizers/build_caf.sh WORKDIR PREFIX "CXXFLAGS"
set -euo pipefail
work=$1 prefix=$2 flags=$3
if [[ -f "$prefix/lib/libcaf_core.so" && -f "$prefix/.flags" && "$(cat "$prefix/.flags")" == "$flags" ]]; then
  exit 0
fi
mkdir -p "$work"
cd "$work"
if [[ ! -d actor-framework-0.17.6 ]]; then
  if ! ls actor-framework_0.17.6.orig.tar.gz >/dev/null 2>&1; then
    sources=$work/deb-src.sources
    printf 'Types: deb-src\nURIs: http://deb.debian.org/debian\nSuites: bookworm\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' > "$sources"
    state=$work/apt-state
    mkdir -p "$state/lists/partial"
    apt_opts=(-o "Dir::Etc::sourcelist=$sources" -o "Dir::Etc::sourceparts=-"
              -o "Dir::State::Lists=$state/lists" -o "APT::Sandbox::User=root")
    apt-get -q "${apt_opts[@]}" update >/dev/null
    # Only the upstream tarball is needed; a missing Debian patch archive on a
    # partial mirror does not matter, so the exit status is judged by the file.
    apt-get -q "${apt_opts[@]}" source --download-only actor-framework=0.17.6-2.1 >/dev/null 2>&1 || true
    [[ -f actor-framework_0.17.6.orig.tar.gz ]] || { echo "error: could not fetch CAF 0.17.6 source" >&2; exit 1; }
  fi
  tar xzf actor-framework_0.17.6.orig.tar.gz
fi
# -include limits: a header of CAF's I/O module uses std::numeric_limits
# without including <limits> (GCC 12 no longer brings it in by the way).
rm -rf build "$prefix"
cmake -S actor-framework-0.17.6 -B build -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DCMAKE_CXX_FLAGS="$flags -include limits" -DCMAKE_INSTALL_PREFIX="$prefix" \
  -DCAF_NO_EXAMPLES=yes -DCAF_NO_UNIT_TESTS=yes -DCAF_NO_OPENSSL=yes -DCAF_NO_OPENCL=yes \
  -DCAF_NO_PYTHON=yes -DCAF_NO_TOOLS=yes -DCAF_NO_SUMMARY=yes -DCAF_NO_COMPILER_CHECK=yes >/dev/null
ninja -C build >/dev/null
ninja -C build install >/dev/null
echo "$flags" > "$prefix/.flags"
