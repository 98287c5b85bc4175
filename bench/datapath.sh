#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# datapath.sh [options]: the relay's data path against the best plain UDP forwarder, same load generator.
#
# Inside a private network namespace (tests/netns.sh: loopback only, multicast routed to lo), for each
# receiver count and each server: starts the server pinned to core 0 (bench_forwarder, or
# tlvcast-relay in the secure profile), runs bench_loadgen pinned to core 1 (one sender, closed loop,
# N receivers that check every message; see bench/datapath/loadgen.cpp), stops the server and
# prints the load generator's line and the server's counters. Every run is bounded (--seconds).
#   --receivers "1 10"   receiver counts (default "1 10")
#   --servers "plain secure"  which servers (default both, plain first; "group": tlvcast-relay --profile
#                        group, its members on unicast delivery, several messages per blob;
#                        "group-single": the same, one message per blob; "group-mc", "group-mc-single":
#                        the same on multicast delivery (the relay sends each blob once to the data
#                        group 224.1.1.2:5008, which every receiver joined); "secure-batch": the
#                        secure relay, its sender packing messages with send_batch (SECURE_BATCH))
#                        The relays run with --reliability none: the forwarder repairs nothing either,
#                        and the load generator's clients use the plain fragmenter.
#   --messages M         timed messages per run (default 200000; warm-up 20000 before them)
#   --relay BIN          tlvcast-relay to measure (default build/rel/examples/tlvcast-relay)
#   --relay-args "..."   extra relay options (e.g. "-v" to print every relayed message)
#   --loadgen-args "..." extra bench_loadgen options (e.g. "--open-every 256")
#   --before BIN         also measure this tlvcast-relay (server "before"), e.g. a build of the
#                        previous commit, in the same rounds: before/after ratios from one run
#   --strace             run the server under strace -c -f and print system calls per relayed message
#                        (strace slows the server, so its batches are larger than in a timed run)
#   --syscalls           count the server's system calls with perf stat -e raw_syscalls:sys_enter
#                        (little slowdown: the count of a normal run)
#   --perf-record DIR    record the server with perf record -g into DIR/SERVER-N.data (perf report -i ...)
#   --spin               the load generator polls without sleeping (its wake-ups leave the loop)
#   --rounds R           repeat each (receivers, server) pair R times, alternating servers (default 1)
#   --wait-quiet S       before each run, wait (at most S seconds) for a second in which other processes
#                        used less than 0.15 of a core (other sessions compile on the same 2 cores); the
#                        load generator's others= still says what happened during the run
# BUILD overrides the build directory (default build/rel). Needs 2 cores for the pinning. Both sides
# run at nice -15 where allowed (root), each in its own session whose autogroup is niced too, so that
# other work on the machine takes little of their cores.
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
if [ "${TLVCAST_NETNS_INSIDE:-}" != 1 ]; then
  exec "$root/tests/netns.sh" "$0" "$@"
fi
build=${BUILD:-$root/build/rel}
receivers="1 10" servers="plain secure" messages=200000 relay=$build/examples/tlvcast-relay relay_args= use_strace=0 use_perf=0 before=
rounds=1 spin= wait_quiet=0 perf_dir= loadgen_args=
while [ $# -gt 0 ]; do
  case $1 in
    --receivers) receivers=$2; shift 2 ;;
    --servers) servers=$2; shift 2 ;;
    --messages) messages=$2; shift 2 ;;
    --relay) relay=$2; shift 2 ;;
    --before) before=$2; servers="plain before secure"; shift 2 ;;
    --relay-args) relay_args=$2; shift 2 ;;
    --loadgen-args) loadgen_args=$2; shift 2 ;;
    --strace) use_strace=1; shift ;;
    --syscalls) use_perf=1; shift ;;
    --rounds) rounds=$2; shift 2 ;;
    --spin) spin=--spin; shift ;;
    --wait-quiet) wait_quiet=$2; shift 2 ;;
    --perf-record) perf_dir=$2; shift 2 ;;
    *) echo "datapath.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
warm=20000
port=25011
tmp=$(mktemp -d)
prio=()
nice -n -15 true 2>/dev/null && prio=(nice -n -15)
# With autogroup scheduling (Linux's default for desktops and here: /proc/sys/kernel/sched_autogroup_enabled)
# nice counts only within a session: another session's compiler still took half a core from a nice -15
# side (load generator 31-35 % busy with --spin). Each side gets a session of its own (setsid) whose
# autogroup is niced to -15 as well (sched(7), "The autogroup feature").
if [ ${#prio[@]} -gt 0 ] && setsid sh -c 'echo -15 > /proc/self/autogroup' 2>/dev/null; then
  prio=(setsid sh -c 'echo -15 > /proc/self/autogroup; exec nice -n -15 "$@"' sh)
fi
trap 'rm -rf "$tmp"' EXIT

# --reliability none where the relay has it (since d4fe930 the default is nack: repair, which the
# forwarder does not do and the load generator's clients do not speak).
reliability() {
  "$1" --help 2>&1 | grep -q -- --reliability && echo "--reliability none"
  return 0
}

# wait_for_quiet: until a second of /proc/stat shows less than 0.15 of a core busy (bounded).
wait_for_quiet() {
  local until=$((SECONDS + wait_quiet)) a b
  while [ "$SECONDS" -lt "$until" ]; do
    a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    sleep 1
    b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9 }' /proc/stat)
    awk -v a="$a" -v b="$b" -v n="$(nproc)" 'BEGIN { split(a, x, " "); split(b, y, " ");
      exit !((y[1] - x[1]) / (y[2] - x[2] + 1e-9) * n < 0.15) }' && return 0
  done
  echo "datapath.sh: the machine did not go quiet in ${wait_quiet} s; running anyway"
}

# run_one SERVER N: one measurement; prints the load generator's line and the server's stats.
run_one() {
  local server=$1 n=$2 cmd pid wrap=()
  [ "$wait_quiet" -gt 0 ] && wait_for_quiet
  if [ "$server" = plain ]; then
    cmd=("$build/bench/datapath/bench_forwarder" 224.1.1.1 "$port")
  elif [ "$server" = before ]; then
    cmd=("$before" --port "$port" --keepalive 3600 --timeout 86400 $(reliability "$before"))
  elif [ "${server#group}" != "$server" ]; then
    cmd=("$relay" --profile group --port "$port" --keepalive 3600 --timeout 86400 $(reliability "$relay") $relay_args)
  else
    cmd=("$relay" --port "$port" --keepalive 3600 --timeout 86400 $(reliability "$relay") $relay_args)
  fi
  [ "$use_strace" = 1 ] && wrap=(strace -c -f -o "$tmp/strace")
  [ "$use_perf" = 1 ] && wrap=(perf stat -e raw_syscalls:sys_enter -x, -o "$tmp/perf" --)
  [ -n "$perf_dir" ] && wrap=(perf record -q -g -o "$perf_dir/$server-$n.data" --)
  : >"$tmp/server.out"
  "${prio[@]}" taskset -c 0 "${wrap[@]}" "${cmd[@]}" >"$tmp/server.out" 2>&1 &
  pid=$!
  for _ in $(seq 100); do
    grep -q -E "ready|fingerprint" "$tmp/server.out" && break
    sleep 0.05
  done
  # Under strace or perf $! is the tool itself; the server is its child.
  local spid=$pid
  [ ${#wrap[@]} -gt 0 ] && spid=$(pgrep -P "$pid" | head -1)
  local rc=0
  local kind=$server extra=
  [ "$server" = before ] && kind=secure
  case $server in
    group) kind=group extra="--delivery unicast" ;;
    group-single) kind=group extra="--delivery unicast --no-batch" ;;
    group-mc) kind=group extra="--delivery multicast" ;;
    group-mc-single) kind=group extra="--delivery multicast --no-batch" ;;
    secure-batch) kind=secure extra="--batch" ;;
  esac
  echo -n "$server: "
  "${prio[@]}" taskset -c 1 "$build/bench/datapath/bench_loadgen" --server "$kind" --receivers "$n" --port "$port" \
    --messages "$messages" --warm-up "$warm" --server-pid "$spid" --seconds 100 $spin $extra $loadgen_args || rc=$?
  kill -TERM "$spid" 2>/dev/null || true
  wait "$pid" || true
  grep -E "stats" "$tmp/server.out" | tail -1
  grep -q "messages_in" "$tmp/server.out" || tail -3 "$tmp/server.out" # a relay that failed says why
  if [ "$use_strace" = 1 ]; then
    local calls
    calls=$(awk '$NF == "total" { print $(NF-2) }' "$tmp/strace")
    # Set-up is a few dozen datagrams: the relayed messages dominate.
    echo "strace: $calls system calls for $((warm + messages)) messages ($(awk -v c="$calls" -v m=$((warm + messages)) \
      'BEGIN { printf "%.3f", c / m }') per message)"
    awk 'NR > 2 && $NF != "total" && $0 !~ /^-/ { print "  " $0 }' "$tmp/strace" | sort -k4 -n -r | head -8
  fi
  if [ "$use_perf" = 1 ]; then
    local calls
    calls=$(awk -F, '/raw_syscalls/ { print $1 }' "$tmp/perf")
    echo "perf: $calls system calls for $((warm + messages)) messages ($(awk -v c="$calls" -v m=$((warm + messages)) \
      'BEGIN { printf "%.3f", c / m }') per message, set-up included)"
  fi
  return $rc
}

for n in $receivers; do
  for r in $(seq "$rounds"); do
    for server in $servers; do
      run_one "$server" "$n" || echo "datapath.sh: run failed (server $server, $n receivers)"
    done
  done
done
