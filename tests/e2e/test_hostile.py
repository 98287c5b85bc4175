# SPDX-License-Identifier: BSL-1.0
"""Hostile seed-profile traffic (--profile seed) against a running tlvcast-relay, inside a private network namespace (run it
through tests/netns.sh): random bytes, truncated TLVs, relay-only types from a client, fragments
claiming 65,535 parts, thousands of open msg_ids from one sender and a registration flood, while
two honest chat clients keep talking. Checks delivery, the relay's counters and its memory."""
import collections
import os
import random
import signal
import socket
import struct
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402
from harness import (check, is_event, no_invalid_lines, start_chat, start_relay, stop_relay)  # noqa: E402

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import rsa  # noqa: E402

GROUP = ("224.1.1.1", 5007)
MAX_CLIENTS = 200
# Resident memory allowed to the relay; sanitizer builds (shadow memory) set a larger one.
RSS_LIMIT_KIB = int(os.environ.get("TLVCAST_E2E_RSS_MIB", "200")) * 1024
args = None
running = []


def tlv(t, value=b""):
    return struct.pack(">HH", t, len(value)) + value


def fragment(msg_id, seq, total, payload):
    return tlv(1, msg_id + struct.pack(">HH", seq, total) + payload)


def pem_key():
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


class Attacker:
    """Sends bounded, paced bursts to the group from one socket (and throw-away ones)."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        self.sent = 0
        self.rng = random.Random(1234)

    def send(self, data, sock=None):
        (sock or self.sock).sendto(data, GROUP)
        self.sent += 1
        if self.sent % 25 == 0:
            time.sleep(0.003)  # pacing: a flood, but not one that overflows every socket buffer

    def register(self, pem):
        self.send(tlv(4, pem))
        self.send(tlv(7))
        self.sock.settimeout(5)
        # Registered by its key, it may be relayed a member's message (type 10) before the answer
        # to its request (the fresh-clone test saw one); any other type first is a failure.
        deadline = time.monotonic() + 5
        data, _ = self.sock.recvfrom(65536)
        while data[:2] == b"\x00\x0a" and time.monotonic() < deadline:
            data, _ = self.sock.recvfrom(65536)
        check(data[:2] == b"\x00\x05", f"registered attacker got type {data[:2].hex()}")

    def run(self, pem):
        rng = self.rng
        for _ in range(1000):  # random bytes
            self.send(rng.randbytes(rng.randrange(0, 1400)))
        for _ in range(100):  # truncated TLVs
            for d in (b"\x00", b"\x00\x01\x00", struct.pack(">HH", 1, 100) + b"x" * 10,
                      struct.pack(">HH", 4, 500) + b"y" * 20):
                self.send(d)
        inner = tlv(6, rng.randbytes(256))
        for _ in range(100):  # what only a relay may send, and unknown types
            self.send(tlv(10, socket.inet_aton("127.0.0.1") + struct.pack(">H", 4242) + inner))
            self.send(tlv(11, socket.inet_aton("10.0.0.1") + struct.pack(">H", 1)))
            self.send(tlv(5, pem))
            self.send(tlv(999, b"?"))
        # Unregistered senders of records: dropped and counted.
        for _ in range(100):
            self.send(tlv(9))
            self.send(fragment(rng.randbytes(4), 0, 1, b"z" * 50))
        # A registered attacker: fragments claiming 65,535 parts, bad seq/total, open msg_ids.
        self.register(pem)
        for _ in range(300):
            self.send(fragment(rng.randbytes(4), rng.randrange(0, 65535), 65535, rng.randbytes(256)))
        for _ in range(100):
            self.send(fragment(rng.randbytes(4), 5, 5, b"a" * 10))  # seq >= total
            self.send(fragment(rng.randbytes(4), 0, 0, b"a" * 10))  # total 0
        for i in range(3000):  # thousands of messages left open by one sender
            self.send(fragment(struct.pack(">I", i), 0, 2, rng.randbytes(256)))
        # Registration flood from many source ports: garbage keys, then valid ones.
        for i in range(2000):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                self.send(tlv(4, rng.randbytes(rng.randrange(0, 600)) if i < 1000 else pem), s)


def cleanup():
    for p in running:
        p.kill()
    running.clear()


def test_hostile_traffic():
    relay = start_relay(args.relay, "--keepalive", "1", "--timeout", "5", "--max-clients", str(MAX_CLIENTS),
                        profile="seed")
    running.append(relay)
    fast = ["--keepalive", "0.5", "--probe", "1"]
    a = start_chat(args.chat, "a", *fast, profile="seed")
    running.append(a)
    b = start_chat(args.chat, "b", *fast, profile="seed")
    running.append(b)
    a.wait_for(is_event("connected", peer=b.local), "b connected")

    pem = pem_key()
    attacker = Attacker()
    errors = []
    done = threading.Event()

    def attack():
        try:
            attacker.run(pem)
        except Exception as e:  # noqa: BLE001 - reported by the main thread
            errors.append(e)
        finally:
            done.set()

    rss = []

    def sample():
        while not done.is_set():
            v = relay.vm_rss_kib()
            if v is not None:
                rss.append(v)
            time.sleep(0.05)

    t_attack = threading.Thread(target=attack, daemon=True)
    t_rss = threading.Thread(target=sample, daemon=True)
    t_attack.start()
    t_rss.start()
    # Meanwhile the honest clients talk.
    sent = collections.Counter()
    i = 0
    deadline = time.monotonic() + 60
    while (not done.is_set() or i < 10) and time.monotonic() < deadline:
        a.send_line(f"a says {i}")
        b.send_line(f"b says {i} ✓")
        i += 1
        time.sleep(0.1)
    t_attack.join(20)
    t_rss.join(5)
    check(done.is_set(), "the attack did not finish within 60 s")
    check(not errors, f"attacker: {errors}")
    # After the attack every message must arrive; during it, UDP may lose some (a relay past its
    # queue limit drops and counts: "overloaded"), but never duplicate or invent one.
    after = 5
    for k in range(i, i + after):
        a.send_line(f"a says {k}")
        b.send_line(f"b says {k} ✓")
        time.sleep(0.05)
    lost = 0
    for who, other, fmt in ((a, b, "a says {}"), (b, a, "b says {} ✓")):
        mine = lambda e, who=who: e.get("event") == "message" and e.get("peer") == who.local  # noqa: E731
        want_after = [fmt.format(k) for k in range(i, i + after)]
        for text in want_after:
            other.wait_for(lambda e, text=text, who=who: mine(e) and e["text"] == text, f"'{text}' after the attack")
        time.sleep(0.3)
        got = collections.Counter(e["text"] for e in other.select(mine))
        want = collections.Counter(fmt.format(k) for k in range(i + after))
        check(not (got - want), f"{other.name}: unexpected or duplicated {sorted(got - want)[:5]}")
        missing = want - got
        lost += sum(missing.values())
        check(sum(missing.values()) <= i // 2, f"{other.name}: lost {sorted(missing)} during the attack")
    # Nothing from the attacker reached the honest clients as a message.
    for c in (a, b):
        strangers = c.select(lambda e: e.get("event") == "message" and e.get("peer") not in (a.local, b.local))
        check(not strangers, f"{c.name} got messages from strangers: {strangers[:3]}")

    peak = max(rss) if rss else 0
    print(f"hostile: {attacker.sent} datagrams, {i} honest messages each way during the attack ({lost} lost), "
          f"relay VmRSS peak {peak / 1024:.1f} MiB",
          flush=True)
    check(rss, "no memory sample")
    check(peak < RSS_LIMIT_KIB, f"relay VmRSS peak {peak} KiB")

    for c in (a, b):
        c.close_stdin()
        check(c.wait_exit() == 0, f"{c.name}: exit status")
    stats = stop_relay(relay)
    print("hostile: relay stats", {k: v for k, v in stats.items() if k != "event" and v}, flush=True)
    for name in ("malformed", "unexpected_type", "unknown_type", "unregistered", "reassembly_dropped",
                 "handshake_errors", "clients_full"):
        check(stats[name] > 0, f"counter {name} is 0: {stats}")
    # At least the table's size: flood entries that time out (5 s) free slots for later ones.
    check(stats["registrations"] >= MAX_CLIENTS, f"registrations {stats['registrations']} (max {MAX_CLIENTS})")
    check(stats["messages_in"] >= 2 * (i + after) - lost, f"messages_in {stats['messages_in']}")
    no_invalid_lines(relay, a, b)


def main():
    tests = [test_hostile_traffic]
    return harness.main("e2e_hostile", tests, cleanup, sys.modules[__name__])


if __name__ == "__main__":
    sys.exit(main())
