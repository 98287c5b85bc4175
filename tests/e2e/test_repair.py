# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of --reliability nack (the programs' default in the secure and group profiles) over
real UDP multicast inside a private network namespace (run it through tests/netns.sh), with random
loss from iptables (INPUT, statistic module): a relay, one sender and three receivers; every line of
100 B and 20 KB arrives at every receiver exactly once, intact and in order, at 5% and 20% loss, in
the secure profile and in the group profile (multicast and unicast delivery). The members register
before the loss starts (the handshake's own retransmission is tested elsewhere). With --reliability
none, the same loss loses lines: the test shows the difference is the repair layer's. With
--reliability nack+fec (a build with libcm256cc) the same at 20%, with parity sent and datagrams
rebuilt from it. With --unordered, every line once and intact, in any order. Each run prints the datagrams iptables dropped, the NACKs and repairs, and how long
the last receiver took to have every line."""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import check, cleanup, dropped, set_loss, stop_relay  # noqa: E402

args = None
LINES = 40


def lines():
    out = []
    for i in range(LINES):
        size = 20_000 if i % 4 == 1 else 100
        head = f"line {i:03d} "
        out.append(head + "".join(chr(ord("a") + (i * 7 + k) % 26) for k in range(size - len(head))))
    return out


def exchange(profile, loss, reliability="nack", *member_opts, relay_extra=(), spacing=0.01):
    """Relay + sender + 3 receivers; returns (lines each receiver got, the relay's stats)."""
    relay, sender, receivers = harness.lossy_group(args.relay, args.chat, profile, loss,
                                                   ("--reliability", reliability, *relay_extra),
                                                   ("--reliability", reliability, *member_opts))
    sent = lines()
    start = time.monotonic()
    for text in sent:
        sender.send_line(text)
        time.sleep(spacing)
    deadline = time.monotonic() + 30
    if reliability == "none":
        time.sleep(2)  # what is lost stays lost: no need to wait longer
    got = []
    for r in receivers:
        if reliability != "none":
            r.wait_count(lambda e: e.get("event") == "message", LINES, f"{r.name}: {LINES} lines",
                         timeout=max(1.0, deadline - time.monotonic()))
        got.append([e["text"] for e in r.select(lambda e: e.get("event") == "message")])
        check(not r.select(lambda e: e.get("event") == "unrecoverable"),
              f"{r.name}: unrecoverable {r.select(lambda e: e.get('event') == 'unrecoverable')}")
    elapsed = time.monotonic() - start
    drops = dropped()
    set_loss(0)
    stats = stop_relay(relay)
    outcome = (f"every line at every receiver {elapsed:.2f} s after the first was sent" if reliability != "none"
               else f"{[len(g) for g in got]} of {LINES} lines")
    print(f"  {profile} {' '.join(member_opts[:2])} {reliability} at {loss:.0%}: {drops} datagrams dropped; relay: "
          f"{stats.get('repair_nacks_received', 0)} NACKs in, {stats.get('repair_nacks_sent', 0)} out, "
          f"{stats.get('repair_retransmissions', 0)} retransmissions, {stats.get('fec_parity_sent', 0)} parity sent, "
          f"{stats.get('fec_parity_repairs_sent', 0)} as repair, {stats.get('fec_recovered', 0)} rebuilt; "
          f"{outcome}", flush=True)
    return sent, got, stats


def check_all(sent, got, what):
    for i, g in enumerate(got):
        check(g == sent, f"{what}: receiver {i + 1} got {len(g)} lines, "
              f"first difference at {next((k for k, (a, b) in enumerate(zip(g, sent)) if a != b), len(g))}")


def test_secure_repair():
    for loss in (0.05, 0.2):
        sent, got, stats = exchange("secure", loss)
        check_all(sent, got, f"secure, {loss:.0%} loss")
        check(stats.get("repair_retransmissions", 0) > 0, f"no repairs at {loss:.0%}: {stats}")


def test_group_repair_multicast():
    for loss in (0.05, 0.2):
        sent, got, stats = exchange("group", loss, "nack", "--delivery", "multicast")
        check_all(sent, got, f"group multicast, {loss:.0%} loss")
        check(stats.get("repair_retransmissions", 0) > 0, f"no repairs at {loss:.0%}: {stats}")


def test_group_repair_unicast():
    sent, got, stats = exchange("group", 0.2, "nack", "--delivery", "unicast", "-v")
    check_all(sent, got, "group unicast, 20% loss")
    # -v: each chat's counters on stderr at exit, its repair layer's included.
    for p in harness.started:
        if p.name.startswith("m"):
            p.close_stdin()
            check(p.wait_exit() == 0, f"{p.name}'s exit status")
            p._err.join(5)
            line = [l for l in p.stderr.decode().splitlines() if l.startswith("tlvcast-chat stats:")]
            check(len(line) == 1 and "repair_nacks_sent=" in line[0] and "messages_received=" in line[0],
                  f"{p.name}: no counters line on stderr: {p.stderr[-400:]!r}")


def fec_built():
    """Whether the programs have --reliability nack+fec (a build with libcm256cc)."""
    r = subprocess.run([args.relay, "--profile", "seed", "--reliability", "nack+fec"], capture_output=True, timeout=10)
    return b"libcm256cc" not in r.stderr


def test_fec_repair():
    if not fec_built():
        print("  skipped: the programs were built without libcm256cc", flush=True)
        return
    for profile, opts in (("secure", ()), ("group", ("--delivery", "multicast"))):
        sent, got, stats = exchange(profile, 0.2, "nack+fec", *opts)
        check_all(sent, got, f"{profile} nack+fec, 20% loss")
        check(stats.get("fec_parity_sent", 0) > 0, f"no parity sent: {stats}")
        check(stats.get("fec_recovered", 0) > 0, f"nothing rebuilt from parity at the relay: {stats}")


def test_unordered():
    # --unordered on the relay and the members: every line once and intact, in any order; lines that
    # fit one datagram may pass a 20 KB one or a line still being repaired.
    # Lines 2 ms apart: more of them arrive while an earlier one is being repaired.
    sent, got, stats = exchange("secure", 0.2, "nack", "--unordered", relay_extra=("--unordered",), spacing=0.002)
    for i, g in enumerate(got):
        check(sorted(g) == sorted(sent), f"unordered: receiver {i + 1} got {len(g)} lines, {len(set(g))} distinct, "
              f"{len(set(sent) - set(g))} missing")
    early = stats.get("repair_delivered_early", 0)
    print(f"  unordered: the relay delivered {early} lines ahead of a gap; receivers' order differed from the "
          f"sender's at {sum(g != sent for g in got)} of {len(got)}", flush=True)
    check(early > 0, f"the relay delivered nothing early at 20% loss: {stats}")


def test_without_repair_lines_are_lost():
    # The control: the same run without repair loses lines (what the repair layer adds).
    sent, got, stats = exchange("secure", 0.2, "none")
    check(any(len(g) < len(sent) for g in got), f"--reliability none lost nothing at 20%: {[len(g) for g in got]}")
    check(stats.get("repair_retransmissions", 0) == 0, f"repairs without repair: {stats}")


if __name__ == "__main__":
    sys.exit(harness.main("e2e repair", [test_secure_repair, test_group_repair_multicast, test_group_repair_unicast,
                                         test_fec_repair, test_unordered, test_without_repair_lines_are_lost],
                          lambda: (set_loss(0), cleanup()), sys.modules[__name__]))
