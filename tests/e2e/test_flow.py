# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of flow control and the relay's --slow-receiver policy over real UDP inside a
private network namespace (run it through tests/netns.sh): a relay of the secure profile, one sender
and two receivers. One receiver is cut (iptables DROP on its UDP port) while the sender sends 3 MB:
- hold: the relay withholds its ACKs to the sender (its window closes, the chat waits), then after
  3 s without an ACK from it drops the cut receiver from reliability: a slow_receiver event (policy hold);
- drop: the cut receiver, more than 2 MiB behind, is dropped at once (policy drop).
Either way the other receiver gets every line once and in order, the sender reports no failure,
and the cut receiver, back, gets the later lines in order, and reports what it missed as
unrecoverable. Every send is bounded: 800 lines, each wait at most harness.WAIT."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import FAST, RELAY, check, cleanup, start_chat, start_relay, stop_relay, track  # noqa: E402

args = None
LINES = 800
SIZE = 4000


def cut(port, on):
    """Drops every UDP datagram to `port` (on) or none (off). False when iptables is not usable."""
    subprocess.run(["iptables", "-F", "INPUT"], capture_output=True, timeout=10)
    if not on:
        return True
    r = subprocess.run(["iptables", "-A", "INPUT", "-p", "udp", "--dport", str(port), "-j", "DROP"],
                       capture_output=True, timeout=10)
    return r.returncode == 0


def line(i, tag=""):
    head = f"{tag}line {i:04d} "
    return head + "".join(chr(ord("a") + (i * 7 + k) % 26) for k in range(SIZE - len(head)))


def index_of(text):
    return int(text.split("line ")[1].split(" ")[0])


def run(policy):
    relay = track(start_relay(args.relay, *RELAY, "--reliability", "nack", "--slow-receiver", policy,
                              profile="secure"))
    opts = [*FAST, "--reliability", "nack", "--relay-fingerprint", relay.fingerprint]
    sender, fast, slow = (track(start_chat(args.chat, name, *opts, profile="secure")) for name in ("s", "fast", "slow"))
    for m in (sender, fast, slow):
        m.wait_for(lambda e: e.get("event") == "registered", f"{m.name} registered")
    port = int(slow.select(lambda e: e.get("event") == "registered")[0]["local"].rsplit(":", 1)[1])
    if not cut(port, True):
        raise harness.Failure("iptables cannot drop here")
    start = time.monotonic()
    sent = [line(i) for i in range(LINES)]
    for text in sent:
        sender.send_line(text)
    relay.wait_for(lambda e: e.get("event") == "slow_receiver", f"a slow_receiver event ({policy})")
    event = relay.select(lambda e: e.get("event") == "slow_receiver")[0]
    fast.wait_count(lambda e: e.get("event") == "message", LINES, f"fast: {LINES} lines")
    took = time.monotonic() - start
    cut(port, False)
    # Back: later lines reach the cut receiver, in order, after its unrecoverable gap(s).
    later = [line(i, "later ") for i in range(20)]
    for text in later:
        sender.send_line(text)
    slow.wait_for(lambda e: e.get("event") == "message" and e["text"] == later[-1], "slow: the last later line")
    fast.wait_count(lambda e: e.get("event") == "message", LINES + len(later), "fast: the later lines")
    # The relay's GONE answers the cut receiver's first ACKs (5 ms after it hears the stream): it may
    # arrive after the last later line. Waited for here, checked below with the relay's counters.
    try:
        slow.wait_for(lambda e: e.get("event") == "unrecoverable", "slow: an unrecoverable gap", timeout=10)
    except harness.Failure:
        pass
    stats = stop_relay(relay)

    got_fast = [e["text"] for e in fast.select(lambda e: e.get("event") == "message")]
    check(got_fast == sent + later, f"{policy}: the fast receiver got {len(got_fast)} lines, not all in order")
    got_slow = [e["text"] for e in slow.select(lambda e: e.get("event") == "message")]
    old = [index_of(t) for t in got_slow if not t.startswith("later")]
    check(old == sorted(set(old)), f"{policy}: the slow receiver's lines out of order or repeated")
    check([t for t in got_slow if t.startswith("later")] == later, f"{policy}: the slow receiver's later lines")
    unrecoverable = slow.select(lambda e: e.get("event") == "unrecoverable")
    # Its loss is said: it first hears the relay's stream past `backfill` (it was cut before the
    # lines began), starts there, and the relay's REPAIR_GONE with its first ACKs names what the
    # shed released and what was sent to it uncached meanwhile.
    check(len(old) < LINES, f"{policy}: the cut receiver got every line: nothing was dropped")
    repair = {k: v for k, v in stats.items() if any(w in k for w in ("gone", "ack", "nack", "slow", "tail", "timeout", "connect", "handshake"))}
    check(unrecoverable, f"{policy}: the cut receiver lost {LINES - len(old)} lines and reported no unrecoverable "
          f"gap; relay: {repair}; slow's events: {sorted({e.get('event') for e in slow.select(lambda e: True)})}")
    failed = sender.select(lambda e: e.get("event") == "send_failed")
    check(not failed, f"{policy}: the sender reported a failure: {failed[:3]}")
    check(event["policy"] == policy and event["peer"].endswith(f":{port}"), f"{policy}: the event {event}")
    check(stats.get("slow_receivers", 0) == 1, f"{policy}: slow_receivers {stats.get('slow_receivers')}")
    if policy == "hold":
        check(stats.get("flow_acks_withheld", 0) > 0, f"hold: no ACK withheld: {stats}")
    else:
        check(stats.get("flow_acks_withheld", 0) == 0, f"drop: ACKs withheld: {stats}")
    print(f"  {policy}: {LINES} x {SIZE} B sent, the fast receiver had them all after {took:.2f} s; event "
          f"bytes {event['bytes']}; slow receiver: {len(old)} of {LINES} early lines, {len(unrecoverable)} "
          f"unrecoverable gap(s); relay: flow_acks_withheld {stats.get('flow_acks_withheld', 0)}, "
          f"flow_slow_released_bytes {stats.get('flow_slow_released_bytes', 0)}, flow_window_decreases "
          f"{stats.get('flow_window_decreases', 0)}", flush=True)


def test_hold():
    run("hold")


def test_drop():
    run("drop")


if __name__ == "__main__":
    sys.exit(harness.main("e2e flow", [test_hold, test_drop], lambda: (cut(0, False), cleanup()),
                          sys.modules[__name__]))
