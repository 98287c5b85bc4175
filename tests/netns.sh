#!/usr/bin/env bash
# SPDX-License-Identifier: BSL-1.0
# netns.sh CMD ARGS...: runs CMD in a fresh private network namespace whose loopback carries multicast.
#
# Inside: lo up, multicast on, 224.0.0.0/4 routed to lo (source 127.0.0.1), no other interface, so nothing can reach a
# real network. Exit code: CMD's; 77 (ctest SKIP_RETURN_CODE) when namespaces are not permitted.
# NETNS_LOSS=P (0 < P <= 1) also drops received packets at random with probability P (iptables).
# NETNS_VETH=1 also creates, inside the namespace, a veth pair v0 <-> v1 (both ends here, so it leads nowhere else)
# with fd00::1/64 on v0 and fd00::2/64 on v1 (no duplicate address detection): lo does not carry IPv6 multicast,
# v0 does (join on v0; with multicast loop on, this host's sockets hear their own group).
set -u

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]   (NETNS_LOSS=P for random packet loss, NETNS_VETH=1 for a veth pair)" >&2
  exit 2
fi

if [ "${TLVCAST_NETNS_INSIDE:-}" != 1 ]; then
  # Root (or CAP_SYS_ADMIN) can unshare the network namespace directly; an unprivileged user may
  # still get one inside a new user namespace (unshare -r), where iptables may not be available.
  for flags in -n -rn; do
    if unshare $flags true 2>/dev/null; then
      TLVCAST_NETNS_INSIDE=1 exec unshare $flags -- "$0" "$@"
    fi
  done
  echo "netns: namespaces not permitted, skipping"
  exit 77
fi

# Now inside the private namespace. "src 127.0.0.1": lo's address has host scope, so without it the
# kernel finds no source for this link-scope route and multicast leaves from 0.0.0.0 (a relay would
# then see every client as 0.0.0.0:port).
if ! { ip link set lo up && ip link set lo multicast on && ip route add 224.0.0.0/4 dev lo src 127.0.0.1; }; then
  echo "netns: cannot configure loopback in the namespace, skipping" >&2
  exit 77
fi
if [ "${NETNS_VETH:-}" = 1 ]; then
  # Link-local addresses skip DAD too, so that nothing is "tentative" when a test starts.
  sysctl -qw net.ipv6.conf.default.accept_dad=0 2>/dev/null || true
  if ! { ip link add v0 type veth peer name v1 && ip link set v0 up && ip link set v1 up &&
         ip -6 addr add fd00::1/64 dev v0 nodad && ip -6 addr add fd00::2/64 dev v1 nodad; }; then
    echo "netns: cannot create the veth pair v0/v1 with IPv6 in the namespace, skipping" >&2
    exit 77
  fi
  # The kernel reports a carrier change late (linkwatch runs at most once a second for the whole
  # machine, so with tests in parallel up to a second late); until then the link is not UP and a
  # first datagram can be lost. Wait for both ends UP and no tentative address, at most 5 s.
  for _ in $(seq 1 100); do
    if [ "$(ip -br link show up | grep -cE '^v[01]@\S+\s+UP')" = 2 ] && [ -z "$(ip -6 addr show tentative)" ]; then
      break
    fi
    sleep 0.05
  done
fi
if [ -n "${NETNS_LOSS:-}" ]; then
  if ! iptables -A INPUT -m statistic --mode random --probability "$NETNS_LOSS" -j DROP; then
    echo "netns: cannot install NETNS_LOSS=$NETNS_LOSS with iptables" >&2
    exit 1
  fi
fi
"$@"
exit $?
