# SPDX-License-Identifier: BSL-1.0
"""End-to-end test of tlvcast-relay and tlvcast-chat in the secure profile (their default) over real
UDP multicast, inside a private network namespace (run it through tests/netns.sh): clients pinned to
the relay's fingerprint exchange messages of every size class with verified sender identities; a
rogue relay is refused by a pinned client and learns nothing; trust on first use records the relay
and refuses another identity later; Crypto++ and OpenSSL programs interoperate; a relay restarted
with the same identity file is re-joined. Fingerprints are checked against an independent
computation (python3-cryptography) from the identity files."""
import collections
import hashlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (FAST, RELAY, Failure, Program, check, cleanup, is_event,  # noqa: E402
                     no_invalid_lines, start_chat, start_relay, stop_relay, track)

from cryptography.hazmat.primitives import serialization  # noqa: E402

args = None
SECURE = "secure"

# 1184 is the secure fragment payload (1232-byte datagrams): 1185 is the first two-fragment message.
SIZES = (0, 1, 1184, 1185, 5000, 48_450)
HEX64 = re.compile(r"^[0-9a-f]{64}$")


def identity_fingerprint(path):
    """SHA-256 of the Ed25519 public key in a PKCS#8 PEM identity file, computed independently."""
    with open(path, "rb") as f:
        key = serialization.load_pem_private_key(f.read(), password=None)
    raw = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def payload(n, who):
    """n bytes of printable ASCII, different for each sender (so a mix-up of texts shows)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    k = sum(map(ord, who)) % len(alphabet)
    rot = alphabet[k:] + alphabet[:k]
    return (rot * (n // len(rot) + 1))[:n]


def pinned_chat(name, relay, *extra):
    c = track(start_chat(args.chat, name, *FAST, "--relay-fingerprint", relay.fingerprint, *extra, profile=SECURE))
    check(c.relay_fingerprint == relay.fingerprint, f"{name}: registered with {c.relay_fingerprint}")
    check(c.fingerprint and HEX64.match(c.fingerprint), f"{name}: self {c.fingerprint!r}")
    return c


def refused(c):
    """A chat refusing its relay: an error event about the identity, exit status 1, never registered."""
    rc = c.wait_exit()
    check(rc == 1, f"{c.name}: exit status {rc}; events {c.summary()}")
    ev = c.wait_for(is_event("error"), "error", timeout=1)
    check("identity" in ev["error"], f"{c.name}: error {ev}")
    check(not c.select(is_event("registered")), f"{c.name} registered with a refused relay")


def test_usage_errors():
    for prog in (args.relay, args.chat):
        for bad in (["--profile", "tls"], ["--profile"], ["--backend", "gnutls"],
                    ["--profile", "secure", "--key", "k.pem"], ["--key", "k.pem"],
                    ["--profile", "seed", "--identity", "id.pem"]):
            r = subprocess.run([prog, *bad], capture_output=True, timeout=10)
            check(r.returncode == 2, f"{os.path.basename(prog)} {bad}: exit {r.returncode}")
            check(r.stderr.strip() != b"" and r.stdout == b"", f"{os.path.basename(prog)} {bad}: output")
        r = subprocess.run([prog, "--help"], capture_output=True, timeout=10)
        for opt in (b"--profile", b"--backend", b"--identity", b"--key", b"fingerprint"):
            check(opt in r.stdout, f"{os.path.basename(prog)} --help lacks {opt}")
    for bad in (["--relay-fingerprint", "abc"], ["--relay-fingerprint", "g" * 64], ["--relay-fingerprint", "a" * 65],
                ["--profile", "seed", "--relay-fingerprint", "a" * 64], ["--profile", "seed", "--known-relays", "k"]):
        r = subprocess.run([args.chat, *bad], capture_output=True, timeout=10)
        check(r.returncode == 2, f"chat {bad}: exit {r.returncode}")
    # The federation's TLS options: only with --federate, and a certificate with its key.
    fed = ["--profile", "group", "--federate", "nats://127.0.0.1:1", "--federation-insecure"]
    for bad, says in ((["--federation-tls-ca", "ca.pem"], b"need --federate"),
                      ([*fed, "--federation-tls-cert", "c.pem"], b"go together"),
                      ([*fed, "--federation-tls-key", "k.pem"], b"go together")):
        r = subprocess.run([args.relay, *bad], capture_output=True, timeout=10)
        check(r.returncode == 2, f"relay {bad}: exit {r.returncode}")
        check(says in r.stderr or b"no NATS federation" in r.stderr, f"relay {bad}: {r.stderr!r}")
    r = subprocess.run([args.chat, "--help"], capture_output=True, timeout=10)
    for opt in (b"--relay-fingerprint", b"--known-relays", b'"sender"', b'"self"'):
        check(opt in r.stdout, f"chat --help lacks {opt}")


def test_pinned_messages_with_verified_senders():
    with tempfile.TemporaryDirectory() as d:
        ident = os.path.join(d, "relay.id")
        # --verbose: the relay's per-message events (off by default) are checked below.
        relay = track(start_relay(args.relay, *RELAY, "--verbose", "--identity", ident, profile=SECURE))
        check(os.stat(ident).st_mode & 0o777 == 0o600, f"identity file mode {oct(os.stat(ident).st_mode)}")
        check(relay.fingerprint == identity_fingerprint(ident),
              f"relay printed {relay.fingerprint}, its identity file says {identity_fingerprint(ident)}")
        ready = relay.wait_for(is_event("ready"), "ready")
        check(ready.get("profile") == SECURE, f"ready {ready}")

        chats = []
        for name in ("alice", "bob", "carol"):
            c = pinned_chat(name, relay)
            relay.wait_for(is_event("connected", peer=c.local, sender=c.fingerprint), f"connected {name}")
            chats.append(c)
        alice, bob, carol = chats
        check(len({c.fingerprint for c in chats}) == 3, "distinct client identities")
        check(len({c.local for c in chats}) == 3, f"distinct local addresses: {[c.local for c in chats]}")
        for c in chats:
            reg = relay.wait_for(is_event("registered", peer=c.local), f"registered {c.name}")
            check(reg.get("sender") == c.fingerprint, f"relay: {c.name} registered as {reg}")

        # Presence names each peer by its verified identity.
        alice.wait_for(is_event("connected", peer=bob.local, sender=bob.fingerprint), "bob connected")
        alice.wait_for(is_event("connected", peer=carol.local, sender=carol.fingerprint), "carol connected")
        bob.wait_for(is_event("connected", peer=carol.local, sender=carol.fingerprint), "carol connected")

        for c in chats:
            for n in SIZES:
                c.send_line(payload(n, c.name))
        for c in chats:
            want = collections.Counter((o.local, o.fingerprint, payload(n, o.name))
                                       for o in chats if o is not c for n in SIZES)
            try:
                c.wait_count(is_event("message"), sum(want.values()), "messages")
            except Failure:
                pass  # reported below, with what is missing
            time.sleep(0.5)  # a duplicate would arrive now
            got = collections.Counter((e["peer"], e.get("sender"), e["text"]) for e in c.select(is_event("message")))
            if got != want:
                raise Failure(f"{c.name}: missing {[(f, s, len(t)) for f, s, t in want - got]}, "
                              f"unexpected {[(f, s, len(t)) for f, s, t in got - want]}")
        sizes = collections.Counter(e["bytes"] for e in relay.select(is_event("message")))
        for n in SIZES:
            check(sizes[n] >= 3, f"relay: {sizes[n]} messages of {n} bytes")
        for c in chats:
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay)
        check(stats["messages_relayed"] == 2 * 3 * len(SIZES), f"stats: {stats}")
        for k in ("timeouts", "malformed", "undecryptable", "handshake_errors", "reassembly_dropped"):
            check(stats[k] == 0, f"{k}: {stats}")
        no_invalid_lines(relay, *chats)


def test_burst_of_lines_shares_datagrams():
    """Lines written faster than the chat sends leave together (send_batch: SECURE_BATCH records);
    every one arrives once, in order, with its sender, and the relay counts messages, not records."""
    with tempfile.TemporaryDirectory() as d:
        relay = track(start_relay(args.relay, *RELAY, "--identity", os.path.join(d, "relay.id"), profile=SECURE))
        a, b = pinned_chat("a", relay), pinned_chat("b", relay)
        a.wait_for(is_event("connected", peer=b.local), "b connected")
        lines = [f"burst {i:04d} " + payload(i % 40 + 1, "a") for i in range(400)]
        a.proc.stdin.write("".join(line + "\n" for line in lines).encode())  # one write: they pile up
        a.proc.stdin.flush()
        got = b.wait_count(is_event("message", peer=a.local), len(lines), "the burst")
        check([e["text"] for e in got] == lines, f"b: {len(got)} lines, out of order or altered")
        check(all(e.get("sender") == a.fingerprint for e in got), "b: a sender other than a")
        time.sleep(0.3)  # a duplicate would arrive now
        check(len(b.select(is_event("message"))) == len(lines), "b: duplicates")
        for c in (a, b):
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay)
        # Messages: the lines, and each chat's CONNECT and DISCONNECT.
        check(stats["messages_in"] == len(lines) + 4 and stats["messages_relayed"] == len(lines), f"stats: {stats}")
        for k in ("malformed", "undecryptable"):
            check(stats[k] == 0, f"{k}: {stats}")
        # How many share a datagram depends on how far the reader got ahead of the sends (30 datagrams
        # in all on an idle machine); one each would be 400 and more.
        check(stats["datagrams_in"] < len(lines), f"no line shared a datagram: {stats}")
        print(f"  400 lines reached the relay in {stats['datagrams_in']} datagrams (handshakes, ACKs included)",
              flush=True)
        no_invalid_lines(relay, a, b)


def test_rogue_relay_is_refused():
    with tempfile.TemporaryDirectory() as d:
        good_id, rogue_id = os.path.join(d, "good.id"), os.path.join(d, "rogue.id")
        good = track(start_relay(args.relay, *RELAY, "--identity", good_id, profile=SECURE, name="good"))
        good_fp = good.fingerprint
        stop_relay(good)
        rogue = track(start_relay(args.relay, *RELAY, "--identity", rogue_id, profile=SECURE, name="rogue"))
        check(rogue.fingerprint != good_fp and rogue.fingerprint == identity_fingerprint(rogue_id),
              "rogue relay fingerprint")
        c = track(Program("pinned", [args.chat, "--json", "--profile", SECURE, *FAST, "--relay-fingerprint", good_fp]))
        # Typed before registration: it must never leave the client towards the rogue relay.
        c.send_line("for the real relay only")
        refused(c)
        stats = stop_relay(rogue)
        check(stats["messages_in"] == 0 and stats["messages_relayed"] == 0 and stats["registrations"] == 0,
              f"rogue relay stats: {stats}")
        check(not rogue.select(lambda e: e.get("event") in ("registered", "connected", "message")),
              f"rogue relay events: {rogue.summary()}")


def test_trust_on_first_use():
    with tempfile.TemporaryDirectory() as d:
        known = os.path.join(d, "known_relays")
        first_id, other_id = os.path.join(d, "first.id"), os.path.join(d, "other.id")
        relay = track(start_relay(args.relay, *RELAY, "--identity", first_id, profile=SECURE))
        for run in ("first", "second"):
            c = track(start_chat(args.chat, run, *FAST, "--known-relays", known, profile=SECURE))
            check(c.relay_fingerprint == relay.fingerprint, f"{run}: relay {c.relay_fingerprint}")
            c.close_stdin()
            check(c.wait_exit() == 0, f"{run}: exit status")
            with open(known) as f:
                lines = f.read().splitlines()
            check(lines == [f"224.1.1.1:5007 {relay.fingerprint}"], f"after the {run} run: known relays {lines}")
        stop_relay(relay)

        # Another identity at the same address: refused, the file unchanged.
        other = track(start_relay(args.relay, *RELAY, "--identity", other_id, profile=SECURE, name="other"))
        check(other.fingerprint != relay.fingerprint, "a different identity")
        c = track(Program("third", [args.chat, "--json", "--profile", SECURE, *FAST, "--known-relays", known]))
        c.send_line("must not reach the other relay")
        refused(c)
        with open(known) as f:
            check(f.read().splitlines() == [f"224.1.1.1:5007 {relay.fingerprint}"], "known relays changed")
        stats = stop_relay(other)
        check(stats["messages_in"] == 0 and stats["registrations"] == 0, f"other relay stats: {stats}")


def has_openssl():
    r = subprocess.run([args.relay, "--backend", "openssl", "--help"], capture_output=True, timeout=10)
    return r.returncode == 0


def test_default_backend():
    """Without --backend a profile runs on the backend that measured faster for it: OpenSSL for the
    seed profile (RSA), Crypto++ for the secure and group profiles; a one-backend build on its own."""
    has = {b: subprocess.run([args.relay, "--backend", b, "--help"], capture_output=True, timeout=10).returncode == 0
           for b in ("openssl", "cryptopp")}
    for profile, preferred in (("seed", "openssl"), (SECURE, "cryptopp"), ("group", "cryptopp")):
        expected = preferred if has[preferred] else next(b for b in has if has[b])
        relay = track(Program(f"relay-{profile}", [args.relay, "--json", "--profile", profile, *RELAY], stdin=False))
        ready = relay.wait_for(is_event("ready"), "ready")
        check(ready.get("backend") == expected, f"{profile}: ready {ready}, expected backend {expected}")
        stop_relay(relay)
        # An explicit --backend still wins: the other one, where the build has both.
        other = next((b for b in has if has[b] and b != expected), expected)
        relay = track(Program(f"relay-{profile}-explicit", [args.relay, "--json", "--profile", profile, *RELAY,
                                                            "--backend", other], stdin=False))
        ready = relay.wait_for(is_event("ready"), "ready")
        check(ready.get("backend") == other, f"{profile}: ready {ready}, asked for {other}")
        stop_relay(relay)


def test_cross_backend():
    if not has_openssl():
        print("cross-backend: this build has no OpenSSL; Crypto++ only", flush=True)
        backends = ["cryptopp"]
    else:
        backends = ["openssl", "cryptopp"]
    for relay_backend in backends:
        relay = track(start_relay(args.relay, *RELAY, "--backend", relay_backend, profile=SECURE,
                                  name=f"relay-{relay_backend}"))
        ready = relay.wait_for(is_event("ready"), "ready")
        check(ready.get("backend") == relay_backend, f"ready {ready}")
        chats = [pinned_chat(f"{b}-via-{relay_backend}", relay, "--backend", b) for b in backends]
        if len(chats) == 1:
            chats.append(pinned_chat(f"cryptopp2-via-{relay_backend}", relay, "--backend", "cryptopp"))
        x, y = chats
        x.wait_for(is_event("connected", peer=y.local, sender=y.fingerprint), "peer connected")
        for n in (5, 1185, 48_450):
            x.send_line(payload(n, x.name))
            y.send_line(payload(n, y.name))
        for me, other in ((x, y), (y, x)):
            for n in (5, 1185, 48_450):
                me.wait_for(is_event("message", **{"peer": other.local, "sender": other.fingerprint,
                                                   "text": payload(n, other.name)}),
                            f"{n} bytes from {other.name}")
        for c in chats:
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay)
        check(stats["messages_relayed"] == 6 and stats["undecryptable"] == 0, f"stats: {stats}")
        no_invalid_lines(relay, *chats)


def test_restart_with_same_identity():
    with tempfile.TemporaryDirectory() as d:
        ident = os.path.join(d, "relay.id")
        relay = track(start_relay(args.relay, *RELAY, "--identity", ident, profile=SECURE))
        a = pinned_chat("a", relay)
        b = pinned_chat("b", relay)
        a.wait_for(is_event("connected", peer=b.local, sender=b.fingerprint), "b connected")
        a.send_line("before")
        b.wait_for(is_event("message", **{"peer": a.local, "sender": a.fingerprint, "text": "before"}), "before")
        first = open(ident, "rb").read()
        stop_relay(relay)

        # Same identity file: the pinned clients accept the new process; their probes (1 s) find it.
        relay2 = track(start_relay(args.relay, *RELAY, "--identity", ident, profile=SECURE, name="relay2"))
        check(relay2.fingerprint == relay.fingerprint, "same identity after the restart")
        check(open(ident, "rb").read() == first, "identity file unchanged")
        for c in (a, b):
            relay2.wait_for(is_event("connected", peer=c.local, sender=c.fingerprint), f"{c.name} re-joined")
        a.send_line("after the restart")
        b.wait_for(is_event("message", **{"peer": a.local, "sender": a.fingerprint, "text": "after the restart"}),
                   "message after the restart")
        b.send_line("and back")
        a.wait_for(is_event("message", **{"peer": b.local, "sender": b.fingerprint, "text": "and back"}),
                   "reply after the restart")
        for c in (a, b):
            check(not c.select(is_event("error")), f"{c.name}: errors {c.select(is_event('error'))}")
            c.close_stdin()
            check(c.wait_exit() == 0, f"{c.name}: exit status")
        stats = stop_relay(relay2)
        check(stats["registrations"] >= 2 and stats["messages_relayed"] == 2, f"relay2 stats: {stats}")
        no_invalid_lines(relay, relay2, a, b)


def main():
    tests = [test_usage_errors, test_pinned_messages_with_verified_senders, test_burst_of_lines_shares_datagrams,
             test_rogue_relay_is_refused,
             test_trust_on_first_use, test_default_backend, test_cross_backend, test_restart_with_same_identity]
    return harness.main("e2e_secure", tests, cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
