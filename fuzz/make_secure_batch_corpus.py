#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Writes the seeds of fuzz/secure_batch.cpp into fuzz/corpus/secure_batch/: a batch value (count,
then length-prefixed messages; docs/PROTOCOL.md "Batches: SECURE_BATCH") that is good, one at each
limit, and one with each fault the receivers refuse. Run from anywhere:
/usr/bin/python3 fuzz/make_secure_batch_corpus.py.
"""
import pathlib
import struct

OUT = pathlib.Path(__file__).resolve().parent / "corpus" / "secure_batch"


def batch(messages, count=None, extra=b""):
    return (struct.pack(">H", len(messages) if count is None else count)
            + b"".join(struct.pack(">H", len(m)) + m for m in messages) + extra)


SEEDS = {
    "three": batch([b"hi", b"", b"tlv"]),              # PROTOCOL.md's example
    "full_datagram": batch([b"x" * 40] * 26),          # what one 1,184-byte datagram holds
    "max_entries": batch([b""] * 256),                 # max_batch_messages
    "too_many": batch([b""] * 257),
    "empty": batch([]),
    "trailing": batch([b"ab"], extra=b"\x00"),
    "count_above": batch([b"a", b"b"], count=3),
    "truncated": batch([b"abcdef"])[:-2],
}

if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in SEEDS.items():
        (OUT / name).write_bytes(data)
