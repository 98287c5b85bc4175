# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of tlvcast-relay and tlvcast-chat in the seed profile (--profile seed) over real
UDP multicast, inside a private network namespace (run it through tests/netns.sh): messages of every size class arrive exactly once
with the right sender, presence events, a killed client times out, a restarted relay with a new key
is re-joined without user action, and the programs' option errors and exit codes."""
import collections
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (FAST, Failure, Program, check, cleanup, is_event, no_invalid_lines,  # noqa: E402
                     start_chat, start_relay, stop_relay, track)

args = None
RELAY = ["--keepalive", "0.5", "--timeout", "2"]  # a shorter client timeout than harness.RELAY's
SEED = "seed"  # every program here speaks the seed profile; tests/e2e/test_secure.py tests the secure one


def payloads():
    """(label, bytes) of every size class; all valid UTF-8 without newlines."""
    out = [("0 bytes", b""), ("1 byte", b"x")]
    for n in (189, 190, 191, 1000, 48_450):
        out.append((f"{n} bytes", bytes((ord("a") + i % 26) for i in range(n))))
    out.append(("utf-8", "héllo wörld ✓ 漢字 🎉 \"quoted\" back\\slash\ttab \x01".encode("utf-8")))
    # Multi-byte characters straddling the 190-byte RSA chunks and the 256-byte fragments.
    out.append(("utf-8 long", ("é✓🎉" * 400).encode("utf-8")))
    return out


def expected_text(b):
    return b.decode("utf-8", errors="replace")


def start_three(*relay_args):
    relay = track(start_relay(args.relay, *relay_args, profile=SEED))
    chats = []
    for name in ("alice", "bob", "carol"):
        c = track(start_chat(args.chat, name, *FAST, profile=SEED))
        relay.wait_for(is_event("connected", peer=c.local), f"connected {name}")
        chats.append(c)
    check(len({c.local for c in chats}) == 3, f"distinct local addresses: {[c.local for c in chats]}")
    return relay, chats


def test_messages_and_presence():
    # A generous client timeout here: on a loaded machine the 48,450-byte messages (255 RSA
    # decryptions each, at the relay and at every client) may delay keep-alives by seconds.
    # -v: the relay's per-message events (off by default) are checked below.
    relay, chats = start_three("--keepalive", "0.5", "--timeout", "10", "-v")
    alice, bob, carol = chats

    # Presence: an earlier client hears of each later one.
    alice.wait_for(is_event("connected", peer=bob.local), "bob connected")
    alice.wait_for(is_event("connected", peer=carol.local), "carol connected")
    bob.wait_for(is_event("connected", peer=carol.local), "carol connected")

    # Every message, from every client, arrives exactly once at each other client.
    sent = payloads()
    for c in chats:
        for _, data in sent:
            c.send_line(data)
    for c in chats:
        want = collections.Counter((o.local, expected_text(d)) for o in chats if o is not c for _, d in sent)
        n = sum(want.values())
        try:
            c.wait_count(is_event("message"), n, "messages")
        except Failure:
            pass  # reported below, with what is missing
        time.sleep(0.5)  # a duplicate would arrive now
        got = collections.Counter((e["peer"], e["text"]) for e in c.select(is_event("message")))
        if got != want:
            missing = want - got
            extra = got - want
            raise Failure(f"{c.name}: missing {[(f, len(t)) for f, t in missing]}, "
                          f"unexpected {[(f, len(t)) for f, t in extra]}")
    relay_msgs = relay.select(is_event("message"))
    check(len(relay_msgs) == 3 * len(sent), f"relay saw {len(relay_msgs)} messages")
    sizes = collections.Counter(e["bytes"] for e in relay_msgs)
    for _, d in sent:
        check(sizes[len(d)] >= 3, f"relay: no message of {len(d)} bytes")

    for c in chats:
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}: exit status")
    stats = stop_relay(relay)
    check(stats["messages_relayed"] == 2 * 3 * len(sent), f"stats: {stats}")
    check(stats["timeouts"] == 0 and stats["malformed"] == 0 and stats["undecryptable"] == 0, f"stats: {stats}")
    no_invalid_lines(relay, *chats)


def test_timeout_and_restart():
    relay, chats = start_three(*RELAY)
    alice, bob, carol = chats
    alice.send_line("before")
    bob.wait_for(is_event("message", **{"peer": alice.local, "text": "before"}), "message")

    # A client killed outright is reported gone after the relay's timeout (2 s).
    killed_at = time.monotonic()
    carol.kill()
    relay.wait_for(is_event("timeout", peer=carol.local), "timeout of carol")
    for c in (alice, bob):
        c.wait_for(is_event("disconnected", peer=carol.local), "carol disconnected")
    elapsed = time.monotonic() - killed_at
    check(1.0 <= elapsed <= 6.0, f"carol's timeout took {elapsed:.1f} s (relay --timeout 2)")

    # The relay restarts with a new key on the same port: the clients find it by themselves.
    stats = stop_relay(relay)
    check(stats["timeouts"] == 1 and stats["messages_relayed"] == 2, f"stats: {stats}")
    check(not relay.select(is_event("message")), "the relay printed per-message events without --verbose")
    relay2 = track(start_relay(args.relay, *RELAY, name="relay2", profile=SEED))
    for c in (alice, bob):
        relay2.wait_for(is_event("connected", peer=c.local), f"{c.name} re-joined")
        c.wait_for(is_event("relay_changed"), "relay_changed")
    alice.send_line("after the restart")
    bob.wait_for(is_event("message", **{"peer": alice.local, "text": "after the restart"}), "message after restart")
    bob.send_line("and back")
    alice.wait_for(is_event("message", **{"peer": bob.local, "text": "and back"}), "reply after restart")

    # End of input: DISCONNECT, exit 0; the other hears of it.
    alice.close_stdin()
    check(alice.wait_exit() == 0, "alice: exit status")
    bob.wait_for(is_event("disconnected", peer=alice.local), "alice disconnected")
    relay2.wait_for(is_event("disconnected", peer=alice.local), "alice disconnected at the relay")
    bob.close_stdin()
    check(bob.wait_exit() == 0, "bob: exit status")
    stats2 = stop_relay(relay2)
    check(stats2["registrations"] == 2 and stats2["messages_relayed"] == 2, f"relay2 stats: {stats2}")
    no_invalid_lines(relay, relay2, *chats)


def test_invalid_utf8_gives_valid_json():
    relay = track(start_relay(args.relay, *RELAY, profile=SEED))
    a = track(start_chat(args.chat, "a", *FAST, profile=SEED))
    b = track(start_chat(args.chat, "b", *FAST, profile=SEED))
    a.wait_for(is_event("connected", peer=b.local), "b connected")
    bad = b"bad \xff\xfe bytes \xc0\xaf overlong \xed\xa0\x80 surrogate end \xe2\x82"
    a.send_line(bad)
    ev = b.wait_for(is_event("message"), "message")
    # Each bad byte becomes one U+FFFD; valid text around them is kept.
    check(ev["text"].startswith("bad \ufffd\ufffd bytes \ufffd\ufffd overlong "), f"text {ev['text']!r}")
    check(ev["text"].endswith(" surrogate end \ufffd\ufffd"), f"text {ev['text']!r}")
    no_invalid_lines(a, b)
    for c in (a, b):
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}: exit status")
    stop_relay(relay)


def test_no_relay_exits_1():
    c = track(Program("lonely", [args.chat, "--json", "--profile", SEED, "--port", "5999",
                                 "--register-timeout", "0.3", "--register-attempts", "2"]))
    start = time.monotonic()
    rc = c.wait_exit(timeout=10)
    check(rc == 1, f"exit status {rc}")
    ev = c.wait_for(is_event("error"), "error", timeout=1)
    check("no relay" in ev["error"], f"error {ev}")
    check(time.monotonic() - start < 5, "gave up too late")


def test_usage_errors():
    for prog in (args.relay, args.chat):
        for bad in (["--nope"], ["--port", "70000"], ["--port"], ["--keepalive", "abc"], ["--keepalive", "-1"],
                    ["--ttl", "256"], ["--group", "10.0.0.1"], ["--iface", "1.2.3"], ["--json=1"], ["stray"]):
            r = subprocess.run([prog, *bad], capture_output=True, timeout=10)
            check(r.returncode == 2, f"{os.path.basename(prog)} {bad}: exit {r.returncode}")
            check(r.stderr.strip() != b"" and r.stdout == b"", f"{os.path.basename(prog)} {bad}: output")
        r = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
        check(r.returncode == 0 and b"Usage:" in r.stdout and b"--keepalive" in r.stdout, f"{prog} --help")
    r = subprocess.run([args.chat, "--help"], capture_output=True, timeout=10)
    for opt in (b"--probe", b"--register-timeout", b"--register-attempts", b"--linger", b"--key"):
        check(opt in r.stdout, f"chat --help lacks {opt}")


def test_key_file_is_reused():
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        key = os.path.join(d, "relay.pem")
        relay = track(start_relay(args.relay, *RELAY, "--key", key, profile=SEED))
        check(os.path.exists(key), "key file created")
        first = open(key, "rb").read()
        check(b"PRIVATE KEY" in first, "PEM private key")
        check(os.stat(key).st_mode & 0o077 == 0, "key file private to its owner")
        a = track(start_chat(args.chat, "a", *FAST, profile=SEED))
        stop_relay(relay)
        # Same key: the client sees no relay change after the restart.
        relay = track(start_relay(args.relay, *RELAY, "--key", key, name="relay-again", profile=SEED))
        check(open(key, "rb").read() == first, "key file unchanged")
        # The relay forgot the client; its next probe (1 s) registers it again, with no relay_changed.
        relay.wait_for(is_event("registered", peer=a.local), "re-registration")
        check(not a.select(is_event("relay_changed")), "relay_changed with the same key")
        a.close_stdin()
        check(a.wait_exit() == 0, "a: exit status")
        stop_relay(relay)


def main():
    tests = [test_usage_errors, test_no_relay_exits_1, test_messages_and_presence, test_timeout_and_restart,
             test_invalid_utf8_gives_valid_json, test_key_file_is_reused]
    return harness.main("e2e", tests, cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
