# SPDX-License-Identifier: BSL-1.0
"""End-to-end tests of the programs' command-line conventions (docs/CLI.md), inside a private network
namespace (run it through tests/netns.sh): the relay's stats on SIGUSR1 and SIGHUP without stopping,
every --stats-interval, its --metrics-file in Prometheus's text format, replaced atomically; a failure
at start as an error event; --quiet for both programs; the warning when another relay already
answers; the chat's --listen mode and the line limit its --help states. The harness checks every JSON
line against the schema (schema.py)."""
import datetime
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (FAST, RELAY, Program, check, cleanup, is_event, start_chat, start_relay,  # noqa: E402
                     stop_relay, track)

args = None
SECURE = "secure"
LISTEN = [x for x in FAST if x not in ("--linger", "0.3")]  # --listen takes no --linger
PROM_LINE = re.compile(r'^(tlvcast_relay_[a-z_]+)\{group="224\.1\.1\.1",port="5007"\} (\d+)$')


def read_metrics(path):
    """{metric name: value} of a Prometheus text file; every sample has a HELP and a TYPE before it."""
    values, described = {}, set()
    with open(path) as f:
        for line in f.read().splitlines():
            if line.startswith("# HELP ") or line.startswith("# TYPE "):
                parts = line.split(" ", 3)
                check(len(parts) == 4 and parts[3], f"metrics: bad comment {line!r}")
                if parts[1] == "TYPE":
                    check(parts[3] in ("counter", "gauge"), f"metrics: type {line!r}")
                    described.add(parts[2])
                continue
            m = PROM_LINE.match(line)
            check(m is not None, f"metrics: bad sample line {line!r}")
            check(m.group(1) in described, f"metrics: {m.group(1)} has no TYPE before it")
            values[m.group(1)] = int(m.group(2))
    return values


def test_relay_stats_signals_interval_and_metrics():
    with tempfile.TemporaryDirectory() as d:
        prom = os.path.join(d, "tlvcast.prom")
        relay = track(start_relay(args.relay, *RELAY, "--stats-interval", "0.3", "--metrics-file", prom,
                                  profile=SECURE))
        ready = relay.wait_for(is_event("ready"), "ready")
        check(ready["group"] == "224.1.1.1" and ready["port"] == 5007, f"ready: {ready}")
        ts = datetime.datetime.strptime(ready["ts"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=datetime.timezone.utc)
        age = abs((datetime.datetime.now(datetime.timezone.utc) - ts).total_seconds())
        check(age < 60, f"ready's ts {ready['ts']} is {age:.0f} s from now (UTC)")
        check(os.path.exists(prom), "no metrics file at start")
        a = track(start_chat(args.chat, "a", *FAST, "--relay-fingerprint", relay.fingerprint, profile=SECURE))
        b = track(start_chat(args.chat, "b", *FAST, "--relay-fingerprint", relay.fingerprint, profile=SECURE))
        a.send_line("counted")
        b.wait_for(is_event("message", text="counted"), "the message")
        relay.wait_count(is_event("stats", reason="interval"), 2, "two interval stats")
        # SIGUSR1 and SIGHUP: the stats, the metrics file rewritten with the same reading, no stop.
        for sig in (signal.SIGUSR1, signal.SIGHUP):
            n = len(relay.select(is_event("stats", reason="signal")))
            relay.signal(sig)
            got = relay.wait_count(is_event("stats", reason="signal"), n + 1, f"stats after {sig.name}")
            check(relay.proc.poll() is None, f"the relay stopped on {sig.name}")
        last = got[-1]
        check(last["clients"] == 2 and last["registrations"] >= 2 and last["messages_in"] >= 1, f"stats {last}")
        metrics = read_metrics(prom)  # rewritten at each report: whole, whatever the moment
        check(metrics["tlvcast_relay_clients"] == 2 and metrics["tlvcast_relay_registrations_total"] >= 2,
              f"metrics {metrics}")
        check(abs(metrics["tlvcast_relay_start_time_seconds"] - time.time()) < 120, "start time")
        # The chats still talk through it after the signals.
        b.send_line("after the signals")
        a.wait_for(is_event("message", text="after the signals"), "a message after the signals")
        for c in (a, b):
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        # The exit's stats and the file's last write are one reading.
        final = stop_relay(relay)
        metrics = read_metrics(prom)
        counters = {k: v for k, v in final.items() if k not in ("v", "ts", "event", "reason", "clients")}
        check(len(counters) >= 20, f"stats {final}")
        for k, v in counters.items():
            check(metrics.get(f"tlvcast_relay_{k}_total") == v, f"metrics {k}: {metrics.get(k)}, stats {v}")
        check(metrics["tlvcast_relay_clients"] == final["clients"], f"clients: metrics {metrics}, stats {final}")
        check(os.listdir(d) == ["tlvcast.prom"], f"files left beside the metrics: {os.listdir(d)}")


def test_failure_at_start_is_an_error_event():
    r = Program("relay", [args.relay, "--json", "--metrics-file", "/nonexistent/dir/tlvcast.prom"], stdin=False)
    check(r.wait_exit() == 1, "relay: exit status")
    ev = r.wait_for(is_event("error"), "error", timeout=1)
    check("/nonexistent/dir/tlvcast.prom" in ev["error"], f"relay: error {ev}")
    check(b"/nonexistent/dir/tlvcast.prom" in r.stderr, f"relay: stderr {r.stderr!r}")
    check(not r.select(is_event("ready")), "relay: ready before the failure")
    # The chat's: a roster file that does not parse.
    with tempfile.TemporaryDirectory() as d:
        roster = os.path.join(d, "roster")
        with open(roster, "w") as f:
            f.write("not-a-fingerprint\n")
        argv = [args.chat, "--json", "--profile", "group", "--roster", roster]
        r = subprocess.run(argv, capture_output=True, timeout=10)
        check(r.returncode == 1 and roster.encode() in r.stderr, f"chat: exit {r.returncode}, {r.stderr!r}")
        harness.check_json_output(argv, r.stdout)
        lines = r.stdout.splitlines()
        check(len(lines) == 1 and b'"event":"error"' in lines[0] and roster.encode() in lines[0], f"chat: {lines}")


def test_quiet():
    for prog in (args.relay, args.chat):
        for bad in (["-q", "--json"], ["--quiet=1"]):
            r = subprocess.run([prog, *bad], capture_output=True, timeout=10)
            check(r.returncode == 2 and b"see --help" in r.stderr and r.stdout == b"", f"{prog} {bad}: {r}")
    r = subprocess.run([args.relay, "-q", "-v"], capture_output=True, timeout=10)
    check(r.returncode == 2, f"relay -q -v: exit {r.returncode}")
    # A quiet relay: nothing at start nor per client; SIGUSR1's stats still print; nothing at exit.
    relay = track(Program("quiet-relay", [args.relay, "-q", *RELAY], stdin=False))
    time.sleep(0.5)  # the probe (0.25 s), then the relay runs
    chat = track(Program("quiet-chat", [args.chat, "-q", *FAST, "--accept-any-relay"]))
    listener = track(start_chat(args.chat, "listener", *FAST, "--accept-any-relay", profile=SECURE))
    chat.send_line("quiet hello")
    listener.wait_for(is_event("message", text="quiet hello"), "the quiet chat's line")
    listener.send_line("to the quiet chat")
    chat.wait_for(lambda e: True, "a line", timeout=10)
    relay.signal(signal.SIGUSR1)
    deadline = time.monotonic() + harness.WAIT
    while not relay.raw and time.monotonic() < deadline:
        time.sleep(0.1)
    relay.signal(signal.SIGTERM)
    check(relay.wait_exit() == 0, "quiet relay: exit status")
    check(len(relay.raw) == 1 and relay.raw[0].startswith(b"relay stats: clients=2 "), f"quiet relay: {relay.raw}")
    chat.close_stdin()
    check(chat.wait_exit() == 0, "quiet chat: exit status")
    lines = [line.decode().rstrip("\n") for line in chat.raw]
    check(len(lines) == 1 and lines[0].startswith("<") and lines[0].endswith("> to the quiet chat"),
          f"quiet chat printed {lines}")
    check(chat.stderr == b"", f"quiet chat stderr {chat.stderr!r}")


def test_warning_when_another_relay_answers():
    first = track(start_relay(args.relay, *RELAY, profile=SECURE, name="first"))
    check(not first.select(is_event("warning")), f"first relay warned: {first.select(is_event('warning'))}")
    second = track(start_relay(args.relay, *RELAY, profile="seed", name="second"))
    w = second.wait_for(is_event("warning"), "warning", timeout=1)
    check(w.get("relay", "").endswith(":5007") and "another relay" in w["warning"], f"warning {w}")
    stop_relay(second)
    check(b"warning: another relay already answers on 224.1.1.1:5007" in second.stderr, f"{second.stderr!r}")
    stop_relay(first)
    # A relay on another port is alone there.
    third = track(start_relay(args.relay, *RELAY, "--port", "5009", profile=SECURE, name="third"))
    check(not third.select(is_event("warning")), "third relay warned")
    stop_relay(third)


def test_listen_and_line_limit():
    r = subprocess.run([args.chat, "--help"], capture_output=True, timeout=10)
    m = re.search(rb"A line\s+is at most (\d+) bytes", r.stdout)
    check(m is not None and b"--listen" in r.stdout, "chat --help: no line limit or --listen")
    limit = int(m.group(1))
    for bad in (["--listen", "--linger", "1"], ["--listen=1"], ["--listen", "--print-identity", "--identity", "x"]):
        r = subprocess.run([args.chat, *bad], capture_output=True, timeout=10)
        check(r.returncode == 2 and b"see --help" in r.stderr, f"chat {bad}: {r}")
    relay = track(start_relay(args.relay, *RELAY, profile=SECURE))
    pin = ["--relay-fingerprint", relay.fingerprint]
    # A listener reads no input (stdin is /dev/null: at its end at once) and stays past --linger.
    listener = Program("listener", [args.chat, "--json", "--profile", SECURE, *LISTEN, *pin, "--listen"], stdin=False)
    track(listener)
    listener.wait_for(is_event("registered"), "registered")
    talker = track(start_chat(args.chat, "talker", *FAST, *pin, profile=SECURE))
    # The limit is a large message's (16 MiB): a line just over one message's 48450 bytes leaves in
    # parts; one over the limit is refused before anything is sent.
    check(limit == 16 * 1024 * 1024, f"chat --help: line limit {limit}")
    talker.send_line("y" * (limit + 1))
    failed = talker.wait_for(is_event("send_failed"), "send_failed for the line over the limit")
    check("too large" in failed["error"], f"send_failed {failed}")
    talker.send_line("x" * 48_451)
    got = listener.wait_for(is_event("message"), "the line over one message, as a large message")
    check(got["text"] == "x" * 48_451 and got["sender"] == talker.fingerprint, f"listener got {len(got['text'])} bytes")
    talker.close_stdin()
    check(talker.wait_exit() == 0, "talker: exit status")
    time.sleep(1.5)  # 5 x the --linger of FAST
    check(listener.proc.poll() is None, "the listener left at the end of its (empty) input")
    check(len(listener.select(is_event("message"))) == 1, "the line over the limit arrived")
    listener.signal(signal.SIGTERM)
    check(listener.wait_exit() == 0, "listener: exit status after SIGTERM")
    stop_relay(relay)


def main():
    tests = [test_failure_at_start_is_an_error_event, test_relay_stats_signals_interval_and_metrics,
             test_quiet, test_warning_when_another_relay_answers, test_listen_and_line_limit]
    return harness.main("e2e_cli", tests, cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
