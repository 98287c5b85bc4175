#!/usr/bin/env bash
# netns.sh CMD ARGS...: runs CMD in a fresh private network namespace whose loopback carries multicast.
#
# Inside: lo up, multicast on, 224.0.0.0/4 routed to lo (source 127.0.0.1), no other interface, so nothing can reach a
# real network. Exit code: CMD's; 77 (ctest SKIP_RETURN_CODE) when namespaces are not permitted.
# NETNS_LOSS=P (0 < P <= 1) also drops received packets at random with probability P (iptables).
set -u

if [ $# -eq 0 ]; then
  echo "usage: $0 CMD [ARGS...]   (NETNS_LOSS=P for random packet loss)" >&2
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
if [ -n "${NETNS_LOSS:-}" ]; then
  if ! iptables -A INPUT -m statistic --mode random --probability "$NETNS_LOSS" -j DROP; then
    echo "netns: cannot install NETNS_LOSS=$NETNS_LOSS with iptables" >&2
    exit 1
  fi
fi
"$@"
exit $?
