#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# repair_vs_norm.sh [options]: tlvcast's repairing Fragmenter against NORM (RFC 5740), same namespace, same loss.
#
# Installs libnorm-dev when missing (a benchmark-only dependency, as scripts/setup.sh installs the
# others), builds tlvcast-relay, bench_repair_peer and bench_norm_peer (Release, build/bench-repair),
# then, inside a private network namespace (tests/netns.sh: loopback only, multicast routed to lo,
# so nothing leaves the machine), runs every cell: 1 sender and 3 receivers, each its own process,
# N messages of S bytes, received datagrams dropped at random with probability P by
#   iptables -A INPUT -p udp -m statistic --mode random --probability P -j DROP
# Systems (--systems):
#   tlvcast      tlvcast-relay --reliability nack (secure profile, AES-256-GCM records) and
#                bench_repair_peer clients; the sender paces at --rate-small/--rate-large msgs/s
#   tlvcast-unpaced  the same, every message handed to the client at once (no flow control yet)
#   tlvcast-fec  as tlvcast with --reliability nack+fec (Reed-Solomon parity, 2 per block of 16;
#                bench_repair_peer --fec; needs libcm256cc, which scripts/setup.sh installs)
#   group        as tlvcast, in the group profile (tlvcast-relay --profile group: end-to-end
#                encryption and signatures, open admission, unicast delivery), paced
#   group-mc     the same with multicast delivery: the relay sends each datagram once to the data
#                group 224.1.1.2:(port + 1), which the members join (bench_repair_peer --multicast);
#                repairs to the group as a multicast stream (NORM-style NACK back-off)
#   norm         bench_norm_peer: sender -> receivers directly over multicast (no relay), a fixed
#                rate: the same messages/s in NORM's bits, divided by (1 - P) because NORM's rate
#                also carries its repairs (tlvcast's relay repairs on top of the sender's rate)
#   norm-cc      the same, with NORM's congestion control on (starting at that rate)
# Every receiver checks every byte. Per cell: each receiver's distinct intact messages / sent (min
# and mean), duplicates and order violations, goodput (distinct messages per second from the first
# send to that receiver's last delivery: mean of receivers, and MB/s), completion time (the last
# delivery at any receiver - the first send). Each process and each cell is bounded (--seconds).
# At the end: a Markdown table of the medians over the rounds, and tlvcast/NORM goodput ratios.
# tlvcast cells under loss also print OVERHEAD: retransmitted bytes (sender + relay) / dropped bytes.
#   --systems "tlvcast norm norm-cc"   (default; add tlvcast-unpaced, group, group-mc)
#   --losses "0 0.05 0.2"   --sizes "100 20000"   --rounds R (default 1)
#   --count-small 2000 --count-large 500   messages per cell for 100 B and for the large size
#   --rate-small 1000 --rate-large 100     the paced rate, messages/s
#   --seconds 30     limit per process per cell
#   --no-build       use the binaries already in $BUILD (default build/bench-repair)
#   --log DIR        keep every process's output there (default: a temporary directory, removed)
set -eu
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-$root/build/bench-repair}
args=("$@")
do_build=1
for a in "$@"; do [ "$a" = --no-build ] && do_build=0; done

if [ "${TLVCAST_NETNS_INSIDE:-}" != 1 ]; then
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  if ! dpkg-query -W -f='${Status}' libnorm-dev 2>/dev/null | grep -q "install ok installed"; then
    echo "repair_vs_norm: installing libnorm-dev (for this benchmark only)"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends libnorm-dev >/dev/null
  fi
  if [ "$do_build" = 1 ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLVCAST_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" --target tlvcast-relay bench_repair_peer bench_norm_peer -j2
  fi
  exec "$root/tests/netns.sh" "$0" "${args[@]}"
fi

systems="tlvcast norm norm-cc" losses="0 0.05 0.2" sizes="100 20000" rounds=1
count_small=2000 count_large=500 rate_small=1000 rate_large=100 seconds=30 log=
while [ $# -gt 0 ]; do
  case $1 in
    --systems) systems=$2; shift 2 ;;
    --losses) losses=$2; shift 2 ;;
    --sizes) sizes=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --count-small) count_small=$2; shift 2 ;;
    --count-large) count_large=$2; shift 2 ;;
    --rate-small) rate_small=$2; shift 2 ;;
    --rate-large) rate_large=$2; shift 2 ;;
    --seconds) seconds=$2; shift 2 ;;
    --no-build) shift ;;
    --log) log=$2; shift 2 ;;
    *) echo "repair_vs_norm.sh: unknown option $1" >&2; exit 2 ;;
  esac
done
relay=$build/examples/tlvcast-relay
tpeer=$build/bench/repair/bench_repair_peer
npeer=$build/bench/norm/bench_norm_peer
tmp=$(mktemp -d)
[ -n "$log" ] && mkdir -p "$log"
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  iptables -F INPUT 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

set_loss() {
  iptables -F INPUT
  if [ "$1" != 0 ]; then
    iptables -A INPUT -p udp -m statistic --mode random --probability "$1" -j DROP
  fi
}

# wait_for FILE PATTERN SECONDS: until FILE holds a line matching PATTERN (false after SECONDS).
wait_for() {
  local i
  for i in $(seq $(($3 * 20))); do
    grep -q -E "$2" "$1" 2>/dev/null && return 0
    sleep 0.05
  done
  return 1
}

# wait_pids SECONDS PID...: until every PID ended (bounded).
wait_pids() {
  local limit=$1 i p alive
  shift
  for i in $(seq $((limit * 20))); do
    alive=0
    for p in "$@"; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && return 0
    sleep 0.05
  done
  return 1
}

# The cell's figures from the sender's and the receivers' lines.
summarise() {
  local system=$1 size=$2 loss=$3 count=$4 dir=$5
  local first
  first=$(grep -h -o 'first_send_ns=[0-9]*' "$dir"/sender.out | head -1 | cut -d= -f2)
  cat "$dir"/r*.out | grep -h 'receiver:' | awk -v sys="$system" -v size="$size" -v loss="$loss" -v n="$count" \
    -v first="${first:-0}" -v load="$(cut -d' ' -f1 /proc/loadavg)" '
    { for (i = 1; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
      d = v["distinct"]; k++; sum += d; if (k == 1 || d < min) min = d
      dup += v["duplicates"]; ooo += v["out_of_order"]; unrec += v["unrecoverable"]; dmg += v["damaged"]
      t = (v["last_ns"] - first) / 1e9; if (t > tmax) tmax = t
      if (t > 0) rate += d / t
      if (v["end"] != "complete") incomplete++ }
    END {
      if (k == 0) { printf "RESULT system=%s size=%d loss=%s messages=%d receivers=0 (no receiver line)\n", sys, size, loss, n; exit }
      printf "RESULT system=%s size=%d loss=%s messages=%d receivers=%d delivered_min=%.4f delivered_mean=%.4f " \
             "duplicates=%d out_of_order=%d unrecoverable=%d damaged=%d incomplete=%d msgs_per_s=%.1f MB_per_s=%.3f " \
             "completion_s=%.3f load=%s\n", sys, size, loss, n, k, min / n, sum / k / n, dup, ooo, unrec, dmg,
             incomplete + 0, rate / k, rate / k * size / 1e6, tmax, load }'
}

# run_cell SYSTEM SIZE LOSS COUNT RATE PORT
run_cell() {
  local system=$1 size=$2 loss=$3 count=$4 rate=$5 port=$6
  local dir=$tmp/cell rpids=() spid rlpid= i
  rm -rf "$dir"; mkdir -p "$dir"
  set_loss 0
  case $system in
    tlvcast | tlvcast-unpaced | group | group-mc | tlvcast-fec)
      local srate=$rate profile=secure reliability=nack fec= mc=() relay_mc=()
      [ "$system" = tlvcast-unpaced ] && srate=0
      [ "$system" = group ] && profile=group
      [ "$system" = group-mc ] && profile=group mc=(--multicast) relay_mc=(--data-group "224.1.1.2:$((port + 1))")
      [ "$system" = tlvcast-fec ] && reliability=nack+fec fec=--fec
      "$relay" --profile "$profile" --port "$port" --reliability "$reliability" --keepalive 3600 --timeout 86400 \
        "${relay_mc[@]}" >"$dir/relay.out" 2>&1 &
      rlpid=$!; pids+=("$rlpid")
      wait_for "$dir/relay.out" "ready|fingerprint" 10 || { echo "relay did not start"; cat "$dir/relay.out"; }
      for i in 1 2 3; do
        "$tpeer" --profile "$profile" $fec "${mc[@]}" --receive "$count" --size "$size" --port "$port" \
          --seconds "$seconds" >"$dir/r$i.out" 2>&1 &
        rpids+=($!); pids+=($!)
      done
      "$tpeer" --profile "$profile" $fec "${mc[@]}" --send "$count" --size "$size" --rate "$srate" --port "$port" \
        --seconds "$seconds" --go "$dir/go" >"$dir/sender.out" 2>&1 &
      spid=$!; pids+=("$spid")
      # Registered (group: every member in one epoch of 4) before the loss starts.
      for i in 1 2 3; do wait_for "$dir/r$i.out" '^ready' 20 || echo "receiver $i is not ready"; done
      wait_for "$dir/sender.out" '^ready' 20 || echo "the sender is not ready"
      set_loss "$loss"   # the members registered without loss; the data runs under it
      touch "$dir/go"
      ;;
    norm | norm-cc)
      # The same messages/s in NORM's bits: a message costs its bytes plus 32 bytes for its first
      # segment and 48 for each further one of 1400 (calibrated: at 0% loss NORM then delivers the
      # same messages/s as tlvcast's paced sender), divided by (1 - P): room for NORM's repairs.
      local bps cc=
      bps=$(awk -v r="$rate" -v s="$size" -v p="$loss" 'BEGIN {
        seg = 1400; n = int((s + seg - 1) / seg); printf "%.0f", r * (s + 32 + (n - 1) * 48) * 8 / (1 - p) }')
      [ "$system" = norm-cc ] && cc=--cc
      set_loss "$loss"
      for i in 1 2 3; do
        "$npeer" --receive "$count" --size "$size" --id $((i + 1)) --port "$port" --seconds "$seconds" \
          >"$dir/r$i.out" 2>&1 &
        rpids+=($!); pids+=($!)
      done
      for i in 1 2 3; do wait_for "$dir/r$i.out" '^ready' 15 || echo "receiver $i did not start"; done
      "$npeer" --send "$count" --size "$size" --rate-bps "$bps" $cc --port "$port" --seconds "$seconds" \
        >"$dir/sender.out" 2>&1 &
      spid=$!; pids+=("$spid")
      ;;
  esac
  wait_pids $((seconds + 5)) "${rpids[@]}" || echo "repair_vs_norm: receivers still running after $((seconds + 5)) s"
  for i in "${rpids[@]}"; do kill -TERM "$i" 2>/dev/null || true; done
  kill -TERM "$spid" 2>/dev/null || true
  wait_pids 5 "$spid" "${rpids[@]}" || true
  if [ -n "$rlpid" ]; then
    kill -TERM "$rlpid" 2>/dev/null || true
    wait_pids 5 "$rlpid" || kill -KILL "$rlpid" 2>/dev/null || true
  fi
  # What the rule dropped (IP packets and bytes, every kind of datagram, set-up excluded).
  local dropped
  dropped=$(iptables -L INPUT -v -n -x | awk '$3 == "DROP" { print $1, $2 }')
  set_loss 0
  summarise "$system" "$size" "$loss" "$count" "$dir"
  grep -h -E 'sender:' "$dir/sender.out" | sed 's/^/  /'
  [ -n "$rlpid" ] && grep -h 'relay stats' "$dir/relay.out" | sed 's/^/  /'
  if [ -n "$rlpid" ] && [ -n "$dropped" ]; then
    # Repair overhead: bytes retransmitted (sender and relay, UDP payload) / UDP payload bytes dropped.
    cat "$dir/sender.out" "$dir/relay.out" | awk -v d="$dropped" -v sys="$system" -v size="$size" -v loss="$loss" '
      { for (i = 1; i <= NF; ++i) { split($i, kv, "=")
          if (kv[1] == "retransmitted_bytes" || kv[1] == "repair_retransmitted_bytes") r += kv[2]
          if (kv[1] == "retransmissions" || kv[1] == "repair_retransmissions") rd += kv[2]
          if (kv[1] ~ /^(fec_)?parity_(repairs_)?sent$/) pd += kv[2] } }
      END { split(d, x, " "); lost = x[2] - 28 * x[1]
            printf "OVERHEAD system=%s size=%s loss=%s dropped_datagrams=%d dropped_payload_bytes=%d " \
                   "retransmitted_bytes=%d retransmitted_per_lost_byte=%.2f retransmitted_datagrams=%d " \
                   "parity_datagrams=%d repair_datagrams_per_lost=%.2f\n", sys, size, loss, x[1], lost, r,
                   (lost > 0 ? r / lost : 0), rd, pd, (x[1] > 0 ? (rd + pd) / x[1] : 0) }'
  fi
  grep -h -E 'receiver:' "$dir"/r*.out | sed 's/^/  /'
  grep -h -v -E '^ready|sender:|receiver:' "$dir"/r*.out "$dir/sender.out" 2>/dev/null | head -5 | sed 's/^/  other: /'
  if [ -n "$log" ]; then
    mkdir -p "$log/$system-$size-$loss-$port" && cp "$dir"/*.out "$log/$system-$size-$loss-$port/"
  fi
  return 0
}

echo "repair_vs_norm: $(date -u +%FT%TZ) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); systems: $systems"
port=26001
for r in $(seq "$rounds"); do
  for size in $sizes; do
    count=$count_large rate=$rate_large
    [ "$size" -le 1000 ] && count=$count_small rate=$rate_small
    for loss in $losses; do
      for system in $systems; do
        run_cell "$system" "$size" "$loss" "$count" "$rate" "$port" | tee -a "$tmp/all"
        port=$((port + 2))
      done
    done
  done
done

# The table: per cell and system, the median over the rounds of each receiver-mean figure; the ratio
# is tlvcast's goodput over NORM's (fixed rate), then over NORM with congestion control.
echo
echo "| size | loss | system | delivered (min of receivers) | dup / out of order / unrecoverable (per round, sum of receivers) | msgs/s | MB/s | completion s |"
echo "|---|---|---|---|---|---|---|---|"
grep '^RESULT' "$tmp/all" | awk '
  function median(list,   n, a, i, j, t) {
    n = split(list, a, " ")
    for (i = 1; i <= n; ++i) for (j = i + 1; j <= n; ++j) if (a[j] + 0 < a[i] + 0) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2 }
  { delete v; for (i = 2; i <= NF; ++i) { split($i, kv, "="); v[kv[1]] = kv[2] }
    key = v["size"] SUBSEP v["loss"] SUBSEP v["system"]
    if (!(key in seen)) { seen[key] = 1; order[++n] = key }
    dmin[key] = dmin[key] " " v["delivered_min"]; rate[key] = rate[key] " " v["msgs_per_s"]
    mb[key] = mb[key] " " v["MB_per_s"]; comp[key] = comp[key] " " v["completion_s"]
    bad[key] = bad[key] (bad[key] == "" ? "" : ", ") v["duplicates"] "/" v["out_of_order"] "/" v["unrecoverable"]
    inc[key] += v["incomplete"]; runs[key] += v["receivers"] }
  END {
    for (k = 1; k <= n; ++k) {
      split(order[k], f, SUBSEP)
      # A receiver that did not get everything: its goodput counts only what arrived, so say so.
      done = inc[order[k]] ? sprintf("%d of %d receivers incomplete", inc[order[k]], runs[order[k]]) \
                           : sprintf("%.2f", median(comp[order[k]]))
      printf "| %s | %s%% | %s | %.4f | %s | %.1f | %.3f | %s |\n", f[1], f[2] * 100, f[3], median(dmin[order[k]]),
             bad[order[k]], median(rate[order[k]]), median(mb[order[k]]), done
      r[order[k]] = median(rate[order[k]]) }
    print ""
    for (k = 1; k <= n; ++k) {
      split(order[k], f, SUBSEP)
      if (f[3] ~ /^norm/) continue
      nk = f[1] SUBSEP f[2] SUBSEP "norm"; ck = f[1] SUBSEP f[2] SUBSEP "norm-cc"
      printf "ratio %s/norm size=%s loss=%s: %s", f[3], f[1], f[2], (nk in r && r[nk] > 0) ? sprintf("%.2f", r[order[k]] / r[nk]) : "-"
      printf "  %s/norm-cc: %s\n", f[3], (ck in r && r[ck] > 0) ? sprintf("%.2f", r[order[k]] / r[ck]) : "-" } }'
