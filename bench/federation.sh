#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# federation.sh [--messages N] [--rate R] [--size B] [--modes "plain jetstream"]: the federation
# benchmark (bench/federation.py, docs/BENCHMARKS.md "Federation") inside a private network
# namespace (tests/netns.sh), with the programs of RELAY_BIN / CHAT_BIN or build/rel, build/release.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
pick() {
  for candidate in "$@"; do
    if [ -x "$candidate" ]; then
      echo "$candidate"
      return
    fi
  done
}
relay=${RELAY_BIN:-$(pick "$root/build/rel/examples/tlvcast-relay" "$root/build/release/examples/tlvcast-relay")}
chat=${CHAT_BIN:-$(pick "$root/build/rel/examples/tlvcast-chat" "$root/build/release/examples/tlvcast-chat")}
if [ -z "$relay" ] || [ -z "$chat" ]; then
  echo "federation.sh: tlvcast-relay or tlvcast-chat not found; build them (docs/BENCHMARKS.md) or set RELAY_BIN, CHAT_BIN" >&2
  exit 2
fi
exec "$root/tests/netns.sh" python3 "$root/bench/federation.py" --relay "$relay" --chat "$chat" "$@"
