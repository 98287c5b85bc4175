# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of tlvcast-relay and tlvcast-chat over IPv6 multicast, inside a private network
namespace with a veth pair v0/v1 made in it (run it through NETNS_VETH=1 tests/netns.sh: lo does
not carry IPv6 multicast, v0 does). The secure profile over ff15::1 (interface by name and by
address) and over the link-local ff02::1:5 (scoped addresses): messages both ways with verified
sender identities and IPv6 addresses, a known-relays entry for an IPv6 group; the group profile
over ff15::1 with multicast delivery on the IPv6 data group (the default [ff15::2]:5008, and one
given by --data-group) beside a unicast member; the seed profile refuses IPv6 groups with a clear
error."""
import os
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (FAST, RELAY, check, cleanup, is_event, no_invalid_lines, start_chat,  # noqa: E402
                     start_relay, stop_relay, track)

args = None
SECURE = "secure"

V0 = "fd00::1"  # tests/netns.sh NETNS_VETH=1 puts it on v0


def text(n, who):
    return (who * (n // len(who) + 1))[:n]


def exchange(relay, a, b, sizes=(1, 5000), seen=lambda c: c.local):
    """a and b each send every size; each sees the other's messages with its identity and its
    address as the relay names it (`seen`: the relay's view less what the wire does not carry)."""
    for c in (a, b):
        relay.wait_for(is_event("connected", peer=c.local, sender=c.fingerprint), f"relay: {c.name} connected")
    a.wait_for(is_event("connected", peer=seen(b), sender=b.fingerprint), f"{a.name}: {b.name} connected")
    for n in sizes:
        a.send_line(text(n, a.name))
        b.send_line(text(n, b.name))
    for me, other in ((a, b), (b, a)):
        for n in sizes:
            me.wait_for(is_event("message", **{"peer": seen(other), "sender": other.fingerprint,
                                               "text": text(n, other.name)}),
                        f"{me.name}: {n} bytes from {other.name}")


def finish(relay, *chats, tolerated=()):
    for c in chats:
        check(not c.select(is_event("error")), f"{c.name}: errors {c.select(is_event('error'))}")
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}: exit status")
    stats = stop_relay(relay)
    for k in ("malformed", "undecryptable", "handshake_errors", "unregistered", "send_errors"):
        check(stats[k] == 0 or k in tolerated, f"relay {k}: {stats}")
    no_invalid_lines(relay, *chats)
    return stats


def test_veth_namespace():
    names = sorted(name for _, name in socket.if_nameindex())
    check(names == ["lo", "v0", "v1"], f"interfaces {names}: run through NETNS_VETH=1 tests/netns.sh")


def test_seed_profile_refuses_ipv6():
    for prog in (args.relay, args.chat):
        r = subprocess.run([prog, "--profile", "seed", "--group", "ff15::1", "--iface", "v0"], capture_output=True,
                           timeout=10, stdin=subprocess.DEVNULL)
        name = os.path.basename(prog)
        check(r.returncode == 2, f"{name} seed over IPv6: exit {r.returncode}, stderr {r.stderr!r}")
        check(b"IPv4 addresses only" in r.stderr, f"{name}: stderr {r.stderr!r}")
        check(r.stdout == b"", f"{name}: stdout {r.stdout!r}")
        r = subprocess.run([prog, "--group", V0], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        check(r.returncode == 2 and b"not a multicast address" in r.stderr, f"{name} unicast group: {r.stderr!r}")
        r = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
        for word in (b"ff15::1", b"--iface", b"by name", b"IPv6"):
            check(word in r.stdout, f"{name} --help lacks {word}")
        # An interface that does not exist, by name or by address: refused with its name, at start.
        for iface, status in (("nosuch0", 2), ("fd00::99", 1)):
            r = subprocess.run([prog, "--group", "ff15::1", "--iface", iface], capture_output=True, timeout=10,
                               stdin=subprocess.DEVNULL)
            check(r.returncode == status and iface.encode() in r.stderr,
                  f"{name} --iface {iface}: {r.returncode} {r.stderr!r}")


def test_site_local_group():
    group = ["--group", "ff15::1", "--port", "5007"]
    with tempfile.TemporaryDirectory() as d:
        try:
            site_local_group(group, d)
        finally:
            cleanup()  # no program may still write into d when it is removed


def site_local_group(group, d):
    relay = track(start_relay(args.relay, *RELAY, *group, "--iface", "v0",
                              "--identity", os.path.join(d, "relay.id"), profile=SECURE))
    pin = ["--relay-fingerprint", relay.fingerprint]
    # The interface by name for one, by address for the other.
    alice = track(start_chat(args.chat, "alice", *FAST, *group, "--iface", "v0", *pin, profile=SECURE))
    bob = track(start_chat(args.chat, "bob", *FAST, *group, "--iface", V0, *pin, profile=SECURE))
    for c in (alice, bob):
        check(c.relay_fingerprint == relay.fingerprint, f"{c.name}: relay {c.relay_fingerprint}")
        check(c.local.startswith(f"[{V0}]:"), f"{c.name}: local {c.local}")
        reg = relay.wait_for(is_event("registered", peer=c.local), f"relay: {c.name} registered")
        check(reg.get("sender") == c.fingerprint, f"relay: {c.name} registered as {reg}")
    check(alice.local != bob.local, "distinct addresses")
    exchange(relay, alice, bob)

    # Trust on first use records the IPv6 group in brackets.
    known = os.path.join(d, "known")
    carol = track(start_chat(args.chat, "carol", *FAST, *group, "--iface", "v0", "--known-relays", known,
                             profile=SECURE))
    trusted = carol.wait_for(is_event("relay_trusted"), "relay_trusted")
    # The event names the relay by its unicast address; the file keys it by the group (below).
    check(trusted.get("relay") == f"[{V0}]:5007" and trusted.get("relay_fingerprint") == relay.fingerprint,
          f"carol: {trusted}")
    stats = finish(relay, alice, bob, carol)
    with open(known) as f:
        lines = f.read().splitlines()
    check(lines == [f"[ff15::1]:5007 {relay.fingerprint}"], f"known relays {lines}")
    check(stats["messages_relayed"] == 4, f"stats: {stats}")


def test_link_local_group():
    # ff02::/16 reaches this link only: clients send from v0's fe80:: address, which needs v0's
    # scope for the relay's replies to find their way back.
    group = ["--group", "ff02::1:5", "--port", "5008", "--iface", "v0"]
    relay = track(start_relay(args.relay, *RELAY, *group, profile=SECURE))
    pin = ["--relay-fingerprint", relay.fingerprint]
    a = track(start_chat(args.chat, "a", *FAST, *group, *pin, profile=SECURE))
    b = track(start_chat(args.chat, "b", *FAST, *group, *pin, profile=SECURE))
    index = socket.if_nametoindex("v0")
    for c in (a, b):
        check(c.local.startswith("[fe80::") and f"%{index}]:" in c.local, f"{c.name}: local {c.local}")
    # The relay names the peers with their scope; the wire does not carry scopes (an interface index
    # means something on its own host only), so the clients see the bare link-local address.
    exchange(relay, a, b, sizes=(3,), seen=lambda c: c.local.replace(f"%{index}", ""))
    finish(relay, a, b)


def test_group_multicast_delivery():
    # The default data group of an IPv6 --group, then one given to the relay and its members.
    for data_group in (None, "[ff15::9]:6001"):
        given = ["--data-group", data_group] if data_group else []
        expected = data_group or "[ff15::2]:5008"
        group = ["--group", "ff15::1", "--port", "5007"]
        relay = track(start_relay(args.relay, *RELAY, *group, "--iface", "v0", *given, profile="group"))
        check(relay.wait_for(is_event("ready"), "ready").get("data_group") == expected, "the relay's data group")
        member = [*FAST, *group, "--relay-fingerprint", relay.fingerprint, "--admission", "open"]
        # Two multicast members (the interface by name, by address; a by default, since it can join
        # the data group) and one unicast member.
        a = track(start_chat(args.chat, "a", *member, "--iface", "v0", *given, profile="group"))
        b = track(start_chat(args.chat, "b", *member, "--iface", V0, "--delivery", "multicast", *given,
                             profile="group"))
        c = track(start_chat(args.chat, "c", *member, "--iface", "v0", "--delivery", "unicast", profile="group"))
        for m, delivery in ((a, "multicast"), (b, "multicast"), (c, "unicast")):
            reg = m.wait_for(is_event("registered"), "registered")
            check(reg.get("delivery") == delivery and reg.get("data_group") == (expected if m is not c else None),
                  f"{m.name}: registered {reg}")
        for m in (a, b, c):
            m.wait_for(lambda e: e.get("event") == "epoch" and e.get("members") == 3, "epoch with 3 members")
        for sender in (a, c):
            line = f"over IPv6 from {sender.name}, data group {expected}"
            sender.send_line(line)
            for m in (a, b, c):
                if m is not sender:
                    m.wait_for(is_event("message", text=line, sender=sender.fingerprint), f"{m.name}: the line")
        for m in (a, b, c):
            check(not m.select(is_event("gap")), f"{m.name}: gaps {m.select(is_event('gap'))}")
        # The group profile's members leave with records the relay may no longer open (the same
        # with unicast delivery, and over IPv4): "undecryptable" counts them.
        finish(relay, a, b, c, tolerated=("undecryptable",))
        cleanup()


def main():
    tests = [test_veth_namespace, test_seed_profile_refuses_ipv6, test_site_local_group, test_link_local_group,
             test_group_multicast_delivery]
    # A chat with neither a pin nor --known-relays uses the default known-relays file: keep it
    # out of the user's home.
    with tempfile.TemporaryDirectory() as home:
        os.environ["TLVCAST_KNOWN_RELAYS"] = os.path.join(home, "known_relays")
        return harness.main("e2e_ipv6", tests, cleanup, sys.modules[__name__], hint="NETNS_VETH=1 tests/netns.sh")


if __name__ == "__main__":
    sys.exit(main())
