#!/usr/bin/env bash
# Installs what is missing, builds, and runs actorrent.
#   tools/run.sh TORRENT -d DIR [options]   download a torrent (options: --help)
#   tools/run.sh                            download from a local demo swarm
set -euo pipefail
cd "$(dirname "$0")/.."
if (($#)); then
  bash tools/setup.sh
  exec build/tools/actorrent "$@"
fi
bash tools/setup.sh --test
exec /usr/bin/python3 tools/swarm/demo.py --actorrent build/tools/actorrent
