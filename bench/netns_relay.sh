#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# netns_relay.sh [--profiles] [BENCH_ARGS...]: runs the relay's UDP benchmarks inside a private network namespace.
#
# The UDP benchmarks of bench_relay and bench_profiles send multicast and unicast over loopback;
# they refuse to run (SkipWithError) unless TLVCAST_NETNS=1, which only this script sets, inside
# tests/netns.sh's namespace (lo up with multicast, nothing else, so no datagram can reach a real network).
# Default: bench_relay's UDP rows. --profiles: bench_profiles' UDP rows and targets/udp instead.
# BENCH_BIN overrides the binary (default: build/bench/bench/bench_<name>, then build/release/bench/bench_<name>).
# Extra arguments go to the benchmark (e.g. --benchmark_filter=openssl/relay/udp).
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
name=bench_relay
if [ "${1:-}" = --profiles ]; then
  name=bench_profiles
  shift
fi
bin=${BENCH_BIN:-}
if [ -z "$bin" ]; then
  for candidate in "$root/build/bench/bench/$name" "$root/build/release/bench/$name"; do
    if [ -x "$candidate" ]; then
      bin=$candidate
      break
    fi
  done
fi
if [ -z "$bin" ] || [ ! -x "$bin" ]; then
  echo "netns_relay.sh: $name not found; build it (see docs/BENCHMARKS.md) or set BENCH_BIN" >&2
  exit 2
fi
filter=--benchmark_filter=udp
for arg in "$@"; do
  case $arg in --benchmark_filter=*) filter= ;; esac
done
TLVCAST_NETNS=1 exec "$root/tests/netns.sh" "$bin" $filter "$@"
