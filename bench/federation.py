# SPDX-License-Identifier: BSL-1.0
"""Federation benchmark (issue 11, docs/BENCHMARKS.md "Federation"): one sender and two receivers
of one group, the sender and one receiver at site a (relay-a alone: the LAN path), the other
receiver at site b (relay-a -> NATS cluster -> relay-b). The same lines, in the same run, reach both
receivers: what the NATS hop costs is the difference between them. The network is the e2e test's
(tests/e2e/test_federation.py: a 3-node nats-server cluster in a backbone namespace, two site
namespaces over veth pairs), made and removed by this script inside tests/netns.sh's namespace.

Per mode (plain subjects, JetStream R3): a paced run (--rate lines/s, --messages lines; latency
p50/p99 from each line's send to its receiver's message event, one machine's clock) and an unpaced
run (every line written at once: messages/s at each receiver, first send to last receipt). The
relays' CPU (utime + stime from /proc, all threads) over each run, per line: relay-a's serves the
LAN and publishes; relay-b's only receives from NATS and delivers. Every line must arrive once, in
order, intact, at both receivers, or the run fails (a benchmark that lost lines measured nothing).
The chat programs and this script's JSON parsing bound the unpaced rate (they are said to be the
bound when the relays are far from busy).

Run: bench/federation.sh [--messages N] [--rate R] [--modes "plain jetstream"] [--size BYTES]."""
import argparse
import datetime
import os
import sys
import tempfile
import time

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "tests", "e2e"))
import harness  # noqa: E402
import test_federation as net  # noqa: E402
from harness import check, is_event  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(p):
    """utime + stime of a program's process (all its threads), in seconds."""
    with open(f"/proc/{p.proc.pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def ts(e):
    return datetime.datetime.fromisoformat(e["ts"].replace("Z", "+00:00")).timestamp()


def run(sender, receivers, relays, tag, n, rate, size):
    """n lines from `sender` (paced at `rate`/s, or all at once with 0); per receiver: delivered,
    msgs/s (first send to last receipt), p50/p99 ms; per relay: CPU µs per line."""
    lines = [(f"{tag} {i:06d} " + "x" * size)[:size] for i in range(n)]
    wanted = set(lines)
    cpu0 = {r.name: cpu_seconds(r) for r in relays}
    sent = {}
    start = time.time()
    for i, t in enumerate(lines):
        if rate:
            delay = start + i / rate - time.time()
            if delay > 0:
                time.sleep(delay)
        sent[t] = time.time()
        sender.send_line(t)
    out = {}
    for r in receivers:
        deadline = time.monotonic() + max(60.0, 4.0 * n / (rate or 1000))
        while True:
            got = r.select(lambda e: e.get("event") == "message" and e.get("text") in wanted)
            if len(got) >= n or time.monotonic() > deadline:
                break
            time.sleep(0.05)
        texts = [e["text"] for e in got]
        check(texts == lines, f"{r.name}: {len(texts)} of {n} lines, in order and once: "
              f"{texts == sorted(set(texts))}")
        ms = sorted((ts(e) - sent[e["text"]]) * 1000 for e in got)
        took = ts(got[-1]) - start
        out[r.name] = {"msgs_per_s": round(n / took), "p50_ms": round(ms[n // 2], 2),
                       "p99_ms": round(ms[min(n - 1, n * 99 // 100)], 2)}
    time.sleep(0.5)  # the relays' last work of the run, then their CPU
    for r in relays:
        out[r.name] = {"cpu_us_per_line": round((cpu_seconds(r) - cpu0[r.name]) / n * 1e6, 1)}
    return out


def bench_mode(jetstream, a):
    with tempfile.TemporaryDirectory() as d:
        net.make_network()
        nodes = [net.start_nats(i, d, jetstream) for i in range(3)]
        net.wait_cluster(nodes, jetstream)
        relays = {s: net.start_relay(s, d, jetstream) for s in net.SITES}
        time.sleep(0.5)
        a0 = net.start_member("a", "a0", relays["a"], d, "unicast")
        net.wait_epoch([a0], 1)
        a1 = net.start_member("a", "a1", relays["a"], d, "unicast")
        b0 = net.start_member("b", "b0", relays["b"], d, "unicast")
        net.wait_epoch([a0, a1, b0], 3)
        run(a0, [a1, b0], list(relays.values()), "warm", 50, 100, a.size)
        paced = run(a0, [a1, b0], list(relays.values()), "paced", a.messages, a.rate, a.size)
        burst = run(a0, [a1, b0], list(relays.values()), "burst", a.messages, 0, a.size)
        for c in (a0, a1, b0):
            c.close_stdin()
        return paced, burst


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--relay", required=True)
    p.add_argument("--chat", required=True)
    p.add_argument("--messages", type=int, default=2000)
    p.add_argument("--rate", type=int, default=500)
    p.add_argument("--size", type=int, default=100)
    p.add_argument("--modes", default="plain jetstream")
    a = p.parse_args()
    check(a.messages >= 2 and a.rate > 0 and 20 <= a.size <= 40_000, "--messages >= 2, --rate > 0, --size 20..40000")
    if not harness.in_namespace():
        print("federation.py: run me through bench/federation.sh (private network namespace)", file=sys.stderr)
        return 2
    net.args = argparse.Namespace(relay=a.relay, chat=a.chat)
    print(f"{a.messages} lines of {a.size} B, paced at {a.rate}/s, then all at once; a0 -> a1 (relay-a alone) "
          f"and a0 -> b0 (relay-a, NATS, relay-b)", flush=True)
    for mode in a.modes.split():
        try:
            paced, burst = bench_mode(mode == "jetstream", a)
        finally:
            net.cleanup()
        hop = round((paced["b0"]["p50_ms"] - paced["a1"]["p50_ms"]) * 1000)
        print(f"{mode}: paced {paced}", flush=True)
        print(f"{mode}: burst {burst}", flush=True)
        print(f"{mode}: the NATS hop adds {hop} µs per line at p50 (paced); in the burst, relay-b spends "
              f"{burst['relay-b']['cpu_us_per_line']} µs CPU per federated line, relay-a "
              f"{burst['relay-a']['cpu_us_per_line']} (LAN and publication); the paced run's CPU per line "
              f"includes the relays' idle work over its {a.messages / a.rate:.0f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
