#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Writes hand-made seeds for fuzz/secure_handshake.cpp into fuzz/corpus/secure_handshake/ (files
named seed_*; the rest of that folder comes from fuzzer runs and is kept).

The harness reads a script through libFuzzer's FuzzedDataProvider: integers are taken from the end
of the input (most significant byte first), byte strings from the front. Each step is an operation
(0: a datagram to the relay, 1: a datagram to the client, 3: exchange, 4: advance the clock; see
the harness). The datagrams are protocol version 2 (docs/PROTOCOL.md): hellos with and without a
cookie, the other handshake shapes, a record, and SECURE_KEY_UPDATE outside a record (refused).
Run from anywhere: /usr/bin/python3 fuzz/make_secure_corpus.py.
"""
import pathlib

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "secure_handshake"
VERSION, AEAD = 2, 1


def tlv(t, v):
    return t.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v


def counting(n, start=0):
    return bytes((start + i) & 0xFF for i in range(n))


class Script:
    def __init__(self):
        self.front, self.tail = bytearray(), []

    def _int(self, value, nbytes):
        self.tail += list(value.to_bytes(nbytes, "big"))

    def to_relay(self, source, datagram):
        self._int(0, 1)
        self._int(source, 1)
        self._int(len(datagram), 2)
        self.front += datagram
        return self

    def to_client(self, from_relay, datagram):
        self._int(1, 1)
        self._int(1 if from_relay else 0, 1)
        self._int(len(datagram), 2)
        self.front += datagram
        return self

    def exchange(self, rounds):
        self._int(3, 1)
        self._int(rounds - 1, 1)
        return self

    def clock(self, ms):
        self._int(4, 1)
        self._int(ms, 2)
        return self

    def bytes(self):
        return bytes(self.front) + bytes(reversed(self.tail))


hello = bytes([VERSION, AEAD]) + counting(32, 0x40) + counting(16, 0xA0)
SEEDS = {
    "seed_hello_v2": Script().to_relay(1, tlv(13, hello)).exchange(2),
    "seed_hello_v2_bad_cookie": Script().to_relay(0, tlv(13, hello + counting(17, 1))).exchange(2),
    "seed_hello_other_aead": Script().to_relay(2, tlv(13, bytes([VERSION, 2]) + hello[2:])),
    "seed_client_auth_unknown_session": Script().to_relay(0, tlv(16, counting(120, 0xB0))),
    "seed_record_unknown_session": Script().to_relay(0, tlv(17, counting(8 + 8 + 4 + 16, 0x10))),
    "seed_cookie_to_client": Script().to_client(True, tlv(14, counting(17, 3) + counting(16, 0x60))),
    "seed_server_hello_to_client": Script().to_client(True, tlv(15, counting(136, 0x22))).exchange(3),
    "seed_key_update_outside_record": Script().to_client(True, tlv(24, b"")),
    "seed_handshake_then_expiry": Script().exchange(4).clock(20000).exchange(2).clock(20000),
}

OUT.mkdir(parents=True, exist_ok=True)
for name, script in SEEDS.items():
    (OUT / name).write_bytes(script.bytes())
print(f"wrote {len(SEEDS)} seeds to {OUT}")
