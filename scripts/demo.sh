#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# demo.sh: builds the release programs and runs a relay and three chat clients (alice, bob, carol)
# in a private network namespace, then stops the relay and shows its counters. About 10 s.
# The secure profile (the default): the relay prints its identity fingerprint, the clients pin it
# with --relay-fingerprint, and every message shows its sender's verified identity [first 32 hex
# digits] beside the address. TLVCAST_DEMO_PROFILE=seed shows the seed profile instead, and
# TLVCAST_DEMO_PROFILE=group the group profile: alice, bob and carol get identity files and a
# roster of their three fingerprints (made here with --print-identity), encrypt end to end (the
# relay forwards what it cannot read), and show the group's epochs and members as they change;
# bob takes the group's messages by multicast delivery (--delivery multicast: the relay sends each
# one once to the data group 224.1.1.2:5008 for all such members), alice and carol by unicast.
#
# Needs permission to create a network namespace (root, or unprivileged user namespaces); without
# it the demo says so and exits 1: it never sends multicast on a real interface.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="${TLVCAST_DEMO_BUILD:-$root/build/release}" # override: an existing build directory
profile="${TLVCAST_DEMO_PROFILE:-secure}"
case "$profile" in
  secure | seed | group) ;;
  *) echo "demo: TLVCAST_DEMO_PROFILE=$profile: not secure, seed or group" >&2; exit 2 ;;
esac

if [ "${1:-}" != --inside ]; then
  "$root/scripts/setup.sh"
  if [ ! -f "$build/build.ninja" ]; then
    cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTLVCAST_BUILD_BENCH=OFF >/dev/null
  fi
  cmake --build "$build" --target tlvcast-relay tlvcast-chat -j2
  set +e
  "$root/tests/netns.sh" "$0" --inside
  rc=$?
  set -e
  if [ $rc -eq 77 ]; then
    echo "demo: network namespaces are not permitted here (try as root, or enable unprivileged user" >&2
    echo "      namespaces); the demo only runs inside one, so it stops here." >&2
    exit 1
  fi
  exit $rc
fi

# Inside the namespace: lo carries the multicast group, nothing else exists.
relay="$build/examples/tlvcast-relay"
chat="$build/examples/tlvcast-chat"
tmp="$(mktemp -d)"
relay_pid=""
cleanup() {
  [ -n "$relay_pid" ] && kill "$relay_pid" 2>/dev/null || true
  rm -rf "$tmp"
}
trap cleanup EXIT

# Prefixes each line with the speaker's name, and shows known addresses as "name(ip:port)": a
# client's "registered as ADDR" line teaches the map, shared by all filters through a file.
names="$tmp/names"
: >"$names"
prefix() {
  local who="$1" line addr name
  while IFS= read -r line; do
    if [[ "$line" == *"registered as "* ]]; then
      addr="${line#*registered as }"
      echo "${addr%% *} $who" >>"$names"
    fi
    while read -r addr name; do
      [ "$name" != "$who" ] && line="${line//"$addr"/"$name($addr)"}"
    done <"$names"
    printf '%-6s| %s\n' "$who" "$line"
  done
}

# Give the group route a source address, so that clients appear as 127.0.0.1:port rather than
# 0.0.0.0:port (Linux picks no source for it otherwise: 127.0.0.1 has host scope).
ip route replace 224.0.0.0/4 dev lo src 127.0.0.1

: >"$tmp/relay.log"
if [ "$profile" != seed ]; then
  # The relay's long-term identity, created on first start (mode 0600).
  relay_key=(--identity "$tmp/relay.id")
else
  relay_key=(--key "$tmp/relay.pem")
fi
"$relay" --profile "$profile" "${relay_key[@]}" --keepalive 1 >"$tmp/relay.log" 2>&1 &
relay_pid=$!
tail -n +1 -s 0.1 -f --pid="$relay_pid" "$tmp/relay.log" | prefix relay &
follower=$!
for _ in $(seq 50); do # at most 5 s for the relay's key and socket
  grep -q "fingerprint: " "$tmp/relay.log" && break
  sleep 0.1
done
grep -q "fingerprint: " "$tmp/relay.log" || { echo "demo: the relay did not start" >&2; exit 1; }

chat_opts=(--profile "$profile" --keepalive 1)
if [ "$profile" != seed ]; then
  # Out of band (here: the relay's output), the users learn the relay's fingerprint and pin it:
  # a relay with any other identity is refused before a message leaves the client.
  fingerprint="$(sed -n 's/^relay identity fingerprint: \([0-9a-f]\{64\}\)$/\1/p' "$tmp/relay.log")"
  [ -n "$fingerprint" ] || { echo "demo: no relay fingerprint" >&2; exit 1; }
  chat_opts+=(--relay-fingerprint "$fingerprint")
  printf '%-6s| %s\n' demo "alice, bob and carol pin the relay: --relay-fingerprint ${fingerprint:0:16}..."
fi
declare -A member_opts=([alice]="" [bob]="" [carol]="")
if [ "$profile" = group ]; then
  # Each member's identity file, and the roster of the three fingerprints that every member admits
  # (out of band in real life). Names for the fingerprints' 32 shown digits go to the filters' map.
  : >"$tmp/roster"
  for who in alice bob carol; do
    fp="$("$chat" --profile group --identity "$tmp/$who.id" --print-identity | sed -n 's/^fingerprint: //p')"
    [ -n "$fp" ] || { echo "demo: no fingerprint for $who" >&2; exit 1; }
    echo "$fp  # $who" >>"$tmp/roster"
    echo "${fp:0:32} $who" >>"$names"
    member_opts[$who]="--identity $tmp/$who.id --delivery unicast"
    printf '%-6s| %s\n' demo "$who's identity fingerprint: $fp"
  done
  member_opts[bob]="--identity $tmp/bob.id --delivery multicast"
  chat_opts+=(--admission roster --roster "$tmp/roster")
  printf '%-6s| %s\n' demo "the roster of alice, bob and carol: --roster $tmp/roster (each member admits only these)"
  printf '%-6s| %s\n' demo "bob: --delivery multicast (the data group 224.1.1.2:5008); alice, carol: unicast"
fi

# Each speaker: a few lines with pauses, then end of input (DISCONNECT).
alice() { sleep 1; echo "hello everyone, alice here"; sleep 2; echo "bob, did the build pass?"; sleep 2.5; echo "great, see you"; }
bob()   { sleep 1.5; echo "hi alice! bob here"; sleep 2; echo "yes: all green, even under TSan"; sleep 2; echo "héhé, UTF-8 works too ✓"; sleep 1; }
carol() { sleep 2; echo "carol joining late"; sleep 3; echo "I'll stay a little longer"; sleep 2.5; echo "bye"; }

# shellcheck disable=SC2086 # member_opts: words without spaces (mktemp -d paths)
alice | "$chat" "${chat_opts[@]}" ${member_opts[alice]} 2>&1 | prefix alice &
a=$!
# shellcheck disable=SC2086
bob | "$chat" "${chat_opts[@]}" ${member_opts[bob]} 2>&1 | prefix bob &
b=$!
# shellcheck disable=SC2086
carol | "$chat" "${chat_opts[@]}" ${member_opts[carol]} 2>&1 | prefix carol &
c=$!
wait $a $b $c
sleep 0.3
kill -TERM "$relay_pid"
wait "$relay_pid" || true
relay_pid=""
wait "$follower" # the log follower ends soon after the relay, having printed the stats line
