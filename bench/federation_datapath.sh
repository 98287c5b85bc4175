#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# federation_datapath.sh [options]: what the NATS hop costs on the data path. Group-profile members through one relay alone
# against the same members split over two relays federated over NATS, same load generator, in the
# same rounds (docs/BENCHMARKS.md, "Issue 11"; bench/federation.sh measures the same with the chat programs over
# the e2e test's 3-node cluster, at the rates people type).
#
# Inside a private network namespace (tests/netns.sh: loopback only): a nats-server on 127.0.0.1,
# and for each round and each setup:
#   single     tlvcast-relay --profile group (port 25011), the sender and N receivers on it;
#   federated  relay A (port 25011) and relay B (port 25111, its own data group), both --federate
#              with a federation key (HMAC-SHA256 envelopes); the sender on A, the receivers on B:
#              every blob crosses relay A -> NATS -> relay B;
#   asap       the same with --federation-send-asap (each envelope written at once).
# bench_loadgen --server group --delivery unicast (one sender, closed loop, receivers that compare
# every blob byte for byte and open a sample; bench/datapath/loadgen.cpp) prints messages/s, the
# servers' CPU µs per message (relays and nats-server, each), and receiver 1's latency from send to
# arrival, p50/p99. Two loads: --window 128 (throughput) and --window 1 (one blob in flight: the
# path's own latency). Every run is bounded (--seconds 60); nothing leaves the namespace.
#   --receivers N      receivers (default 1)
#   --messages M       timed messages per run (default 100000; warm-up 10000; --window 1: M/20)
#   --rounds R         rounds, setups alternating (default 3)
#   --jetstream        federate through JetStream (--federation-jetstream; nats-server -js)
#   --relay BIN        tlvcast-relay (default build/rel/examples/tlvcast-relay)
#   --loadgen-args ".."  extra bench_loadgen options
# BUILD overrides the build directory (default build/rel: tlvcast-relay and bench_loadgen, Release);
# FED_DEBUG=1 also prints both relays' final stats.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${TLVCAST_NETNS_INSIDE:-}" != 1 ]; then
  exec "$root/tests/netns.sh" "$0" "$@"
fi
build=${BUILD:-$root/build/rel}
relay=$build/examples/tlvcast-relay receivers=1 messages=100000 rounds=3 jetstream= loadgen_args=
while [ $# -gt 0 ]; do
  case $1 in
    --receivers) receivers=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --jetstream) jetstream=1; shift ;;
    --relay) relay=$2; shift 2 ;;
    --loadgen-args) loadgen_args=$2; shift 2 ;;
    *) echo "federation_datapath.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
command -v nats-server >/dev/null || { echo "federation_datapath.sh: nats-server not installed (scripts/setup.sh)" >&2; exit 2; }
"$relay" --help 2>&1 | grep -q -- --federate || { echo "federation_datapath.sh: $relay has no --federate (libnats)" >&2; exit 2; }
tmp=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

nats_port=24222
nats-server -a 127.0.0.1 -p "$nats_port" ${jetstream:+-js -sd "$tmp/js"} -l "$tmp/nats.log" &
nats_pid=$!
pids+=("$nats_pid")
for _ in $(seq 100); do
  (exec 3<>"/dev/tcp/127.0.0.1/$nats_port") 2>/dev/null && break
  sleep 0.05
done
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$tmp/fed.key"
chmod 600 "$tmp/fed.key"

# start_relay NAME PORT DATA [federation options...]: prints the relay's pid once it is ready
# (and, federated, connected to NATS).
start_relay() {
  local name=$1 port=$2 data=$3
  shift 3
  "$relay" --json --profile group --port "$port" --data-group "$data" --keepalive 3600 --timeout 86400 \
    --reliability none "$@" >"$tmp/$name.out" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 200); do
    if grep -q '"event":"ready"' "$tmp/$name.out" &&
       { [ $# -eq 0 ] || grep -q '"state":"connected"' "$tmp/$name.out"; }; then
      echo "$pid"
      return 0
    fi
    sleep 0.05
  done
  echo "federation_datapath.sh: relay $name did not start: $(tail -2 "$tmp/$name.out")" >&2
  return 1
}

stop() {
  kill -TERM "$@" 2>/dev/null || true
  for p in "$@"; do
    while kill -0 "$p" 2>/dev/null; do sleep 0.05; done
  done
}

# Each run federates its own group (its own streams with --jetstream: the relays of a run catch up
# nothing of the run before, whose members are gone).
runs=0
fed_args() {
  runs=$((runs + 1))
  fed=(--federate "nats://127.0.0.1:$nats_port" --federation-key "$tmp/fed.key" --federation-group "bench$runs"
       ${jetstream:+--federation-jetstream --federation-replicas 1}) # one server: streams of one replica
}

# run SETUP WINDOW M
run() {
  local setup=$1 window=$2 m=$3 a b=
  if [ "$setup" = single ]; then
    a=$(start_relay a 25011 224.1.1.2:25012) || return 1
  else
    local more=()
    [ "$setup" = asap ] && more=(--federation-send-asap)
    fed_args
    a=$(start_relay a 25011 224.1.1.2:25012 "${fed[@]}" "${more[@]}") || return 1
    b=$(start_relay b 25111 224.1.1.4:25112 "${fed[@]}" "${more[@]}") || { stop "$a"; return 1; }
    sleep 1 # both subscriptions reach the server (a relay that missed the founding commit splits the group)
  fi
  echo -n "$setup window=$window: "
  local rc=0
  "$build/bench/datapath/bench_loadgen" --server group --delivery unicast --receivers "$receivers" --port 25011 \
    ${b:+--receiver-port 25111} --window "$window" --messages "$m" --warm-up $((m / 10)) --latency --seconds 60 \
    --server-pid "$a" ${b:+--server-pid "$b" --server-pid "$nats_pid"} --spin $loadgen_args 2>"$tmp/loadgen.err" || rc=$?
  cat "$tmp/loadgen.err"
  stop "$a" $b
  # On plain subjects the receivers' member at relay B sometimes founds a group of its own before
  # the sender's is announced there (one order needs --federation-jetstream, docs/FEDERATION.md):
  # the set-up never completes, and the run is made again with new relays, once, and said.
  if [ $rc -ne 0 ] && grep -q "set-up" "$tmp/loadgen.err" && [ -z "${retried:-}" ]; then
    echo "federation_datapath.sh: the group split at set-up; once more with new relays"
    retried=1 run "$@"
    return $?
  fi
  [ -n "$b" ] && [ -n "${FED_DEBUG:-}" ] && grep -h '"event":"stats"' "$tmp/a.out" "$tmp/b.out"
  [ -n "$b" ] && grep -h '"federation_' "$tmp/a.out" "$tmp/b.out" | grep -o '"federation_[a-z_]*":[0-9]*' |
    grep -v '":0$' | tr '\n' ' ' && echo
  return $rc
}

echo "receivers=$receivers messages=$messages rounds=$rounds ${jetstream:+jetstream} relay=$relay"
for r in $(seq "$rounds"); do
  for setup in single federated asap; do
    run "$setup" 128 "$messages" || echo "federation_datapath.sh: run failed ($setup, window 128)"
    run "$setup" 1 $((messages / 20)) || echo "federation_datapath.sh: run failed ($setup, window 1)"
  done
done
