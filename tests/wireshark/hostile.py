# SPDX-License-Identifier: BSL-1.0
"""Datagrams for the dissector's test: docs/PROTOCOL.md's examples and test vectors with the fields
tshark must show for them, and hostile datagrams (seeded, so that a failure replays)."""
import random
import re
import struct

# include/tlvcast/wire/types.hpp's bounds, as the dissector has them: type -> (min, max) value length.
BOUNDS = {1: (8, 65535), 3: (256, 512), 4: (64, 2048), 5: (64, 2048), 6: (256, 65535), 7: (0, 0), 9: (0, 0),
          10: (10, 65535), 11: (6, 6), 12: (6, 6), 13: (50, 67), 14: (33, 33), 15: (136, 136), 16: (120, 120),
          17: (36, 65535), 18: (51, 65535), 19: (52, 52), 20: (1, 1), 21: (0, 65535), 22: (0, 0), 23: (0, 0),
          24: (0, 0), 25: (133, 197), 26: (0, 0), 27: (52, 249), 28: (226, 65535), 29: (28, 65535),
          30: (110, 65535), 31: (8, 8), 32: (112, 65535), 33: (12, 65535), 34: (10, 388), 35: (8, 8), 36: (12, 12),
          37: (8, 8), 38: (16, 65535), 39: (8, 8), 40: (12, 65535), 41: (63, 65535), 42: (122, 65535),
          43: (4, 65535), 44: (55, 65535)}
PEM = (b"-----BEGIN PUBLIC KEY-----\nMIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAtlvcast+example+only\n"
       b"-----END PUBLIC KEY-----\n")


def tlv(t, value, length=None):
    return struct.pack("!HH", t, len(value) if length is None else length) + value


def part(msg_id, total, offset, data=b""):
    """A large message's part (docs/PROTOCOL.md "Large messages"): msg_id, total, offset, bytes."""
    return struct.pack("!III", msg_id, total, offset) + data


def batch(messages, count=None, extra=b""):
    """A secure batch's value (docs/PROTOCOL.md "Batches: SECURE_BATCH"): count, length-prefixed messages."""
    return (struct.pack("!H", len(messages) if count is None else count)
            + b"".join(struct.pack("!H", len(m)) + m for m in messages) + extra)


# SECURE_DELIVER_PART's sender (192.168.1.7:40001, v4-mapped) and identity fingerprint: 51 bytes.
DELIVER_SENDER = (bytes([4]) + bytes(10) + b"\xff\xff" + bytes([192, 168, 1, 7]) + struct.pack("!H", 40001)
                  + b"\x5a" * 32)
LIMIT = 16 * 1024 * 1024  # core::large_limits' default max_message_bytes


def vectors(doc_path):
    """{name: bytes} of the hex test vectors in docs/PROTOCOL.md (a name, then hex on its line or
    on the indented lines below)."""
    with open(doc_path) as f:
        doc = f.read()
    found = {}
    for m in re.finditer(r"^(\S[^\n]*?)(?:[ \t]+([0-9a-f]+))?\n((?:[ \t]+[0-9a-f]+\n)*)", doc, re.M):
        text = (m.group(2) or "") + "".join(m.group(3).split())
        if text and len(text) % 2 == 0:
            found[m.group(1)] = bytes.fromhex(text)
    return found


def documented(doc_path):
    """(datagrams, expectations): the documented examples, and for each the -T fields values that
    must lead its row (field -> list of values)."""
    v = vectors(doc_path)
    need = ["SECURE_SERVER_HELLO datagram", "SECURE_CLIENT_AUTH datagram", "SECURE_RECORD(seq 0, SECURE_ACCEPT(1)) datagram",
            "commit_1", "commit_2", "welcome_2_blob", "message_a_0_blob", "message_b_0_blob", "batch_b_1_blob",
            "message_a_1_blob", "REPAIR_DATA datagram", "REPAIR_NACK datagram", "REPAIR_TAIL datagram",
            "REPAIR_PARITY datagram", "SECURE_BATCH blob", "SECURE_DELIVER_BATCH blob"]
    missing = [n for n in need if n not in v]
    if missing:
        raise AssertionError(f"docs/PROTOCOL.md no longer has the test vectors {missing}")
    rng = random.Random(1)
    blob = b"\x00\x03\x01\x00" + rng.randbytes(252) + rng.randbytes(4)  # an ENCRYPTED_BLOCK of 256: 260 bytes
    group = {"tlvcast.group.epoch": ["2"]}
    group_part = tlv(42, rng.randbytes(16) + struct.pack("!QHI", 2, 1, 3) + rng.randbytes(12 + 40 + 64 + 16))
    cases = [
        (tlv(1, bytes.fromhex("184134dc00000002") + blob[:256]),
         {"tlvcast.name": ["FRAGMENT"], "tlvcast.fragment.msg_id": ["0x184134dc"], "tlvcast.fragment.seq": ["0"],
          "tlvcast.fragment.total": ["2"]}),
        (tlv(1, bytes.fromhex("184134dc00010002") + blob[256:]), {"tlvcast.fragment.seq": ["1"]}),
        (tlv(1, bytes.fromhex("0000000700000001") + blob), {"tlvcast.name": ["FRAGMENT", "ENCRYPTED_BLOCK"]}),
        (tlv(10, bytes.fromhex("c0a801079c41") + tlv(6, rng.randbytes(256))),
         {"tlvcast.name": ["SENDER_INFO", "RELAYED_MESSAGE"], "tlvcast.ipv4": ["192.168.1.7"], "tlvcast.port": ["40001"]}),
        (bytes.fromhex("000b0006c0a801099c43"),
         {"tlvcast.name": ["CLIENT_CONNECTED"], "tlvcast.ipv4": ["192.168.1.9"], "tlvcast.port": ["40003"]}),
        (bytes.fromhex("000c0006c0a801099c43"), {"tlvcast.name": ["CLIENT_DISCONNECTED"]}),
        (bytes.fromhex("00070000"), {"tlvcast.name": ["REQUEST_SERVER_KEY"], "tlvcast.length": ["0"]}),
        (bytes.fromhex("00090000"), {"tlvcast.name": ["KEEPALIVE"]}),
        (tlv(4, PEM), {"tlvcast.name": ["REGISTER_PUBLIC_KEY"]}),
        (tlv(13, bytes([2, 1]) + rng.randbytes(48)), {"tlvcast.name": ["SECURE_HELLO"], "tlvcast.secure.version": ["2"]}),
        (v["SECURE_SERVER_HELLO datagram"],
         {"tlvcast.name": ["SECURE_SERVER_HELLO"], "tlvcast.secure.session_id": ["b2b2b2b2b2b2b2b2"]}),
        (v["SECURE_CLIENT_AUTH datagram"], {"tlvcast.name": ["SECURE_CLIENT_AUTH"]}),
        (v["SECURE_RECORD(seq 0, SECURE_ACCEPT(1)) datagram"],
         {"tlvcast.name": ["SECURE_RECORD"], "tlvcast.secure.seq": ["0"]}),
        (tlv(28, v["commit_1"]), {"tlvcast.name": ["GROUP_COMMIT"], "tlvcast.group.epoch": ["1"]}),
        (tlv(28, v["commit_2"]), {"tlvcast.name": ["GROUP_COMMIT"], **group}),
        (v["welcome_2_blob"], {"tlvcast.name": ["GROUP_WELCOME"], **group, "tlvcast.group.first": ["0"],
                               "tlvcast.group.total": ["2"]}),
        (v["message_a_0_blob"], {"tlvcast.name": ["GROUP_MESSAGE"], **group, "tlvcast.group.sender": ["0"],
                                 "tlvcast.group.generation": ["0"]}),
        (v["message_b_0_blob"], {"tlvcast.group.sender": ["1"], "tlvcast.group.generation": ["0"]}),
        (v["batch_b_1_blob"], {"tlvcast.name": ["GROUP_BATCH"], "tlvcast.group.sender": ["1"],
                               "tlvcast.group.generation": ["1"]}),
        (v["REPAIR_DATA datagram"], {"tlvcast.name": ["REPAIR_DATA", "KEEPALIVE"], "tlvcast.repair.stream": ["0x80000001"],
                                     "tlvcast.repair.seq": ["7"]}),
        (v["REPAIR_NACK datagram"], {"tlvcast.name": ["REPAIR_NACK"], "tlvcast.repair.first": ["3"],
                                     "tlvcast.repair.count": ["2"]}),
        (v["REPAIR_TAIL datagram"], {"tlvcast.name": ["REPAIR_TAIL"], "tlvcast.repair.next": ["8"]}),
        (v["REPAIR_PARITY datagram"], {"tlvcast.name": ["REPAIR_PARITY"], "tlvcast.repair.first": ["7"],
                                       "tlvcast.repair.block_count": ["1"], "tlvcast.repair.index": ["0"]}),
        # A forwarded blob as one FRAGMENT (as on the data group when it does not fit a datagram).
        (tlv(1, bytes.fromhex("0102030400000001") + v["message_a_1_blob"]),
         {"tlvcast.name": ["FRAGMENT", "GROUP_MESSAGE"], "tlvcast.group.generation": ["1"]}),
        # Large messages' parts (types 40-42): SECURE_PART and SECURE_DELIVER_PART are record
        # plaintext (shown when met in clear, as SECURE_DELIVER), GROUP_PART's header is in clear
        # and its part header encrypted with its bytes.
        (tlv(40, part(0x0a0b0c0d, 70000, 61440, b"p" * 8560)),
         {"tlvcast.name": ["SECURE_PART"], "tlvcast.part.msg_id": ["0x0a0b0c0d"], "tlvcast.part.total": ["70000"],
          "tlvcast.part.offset": ["61440"], "tlvcast.part.bytes": [(b"p" * 8560).hex()]}),
        (tlv(40, part(7, 0, 0)), {"tlvcast.name": ["SECURE_PART"], "tlvcast.part.msg_id": ["0x00000007"],
                                  "tlvcast.part.total": ["0"], "tlvcast.part.offset": ["0"], "tlvcast.part.bytes": []}),
        (tlv(40, part(8, LIMIT, LIMIT - 3, b"end")),  # exactly the limit: taken
         {"tlvcast.part.total": [str(LIMIT)], "tlvcast.part.offset": [str(LIMIT - 3)],
          "tlvcast.part.bytes": ["656e64"]}),
        (tlv(41, DELIVER_SENDER + part(0xfffffffe, 100, 0, b"q" * 100)),
         {"tlvcast.name": ["SECURE_DELIVER_PART"], "tlvcast.ipv4": ["192.168.1.7"], "tlvcast.port": ["40001"],
          "tlvcast.part.msg_id": ["0xfffffffe"], "tlvcast.part.total": ["100"], "tlvcast.part.offset": ["0"]}),
        # In a record's plaintext as the relay sends it: SECURE_DELIVER_PART in a REPAIR_DATA.
        (tlv(33, struct.pack("!II", 5, 9) + tlv(41, DELIVER_SENDER + part(3, 10, 4, b"abcdef"))),
         {"tlvcast.name": ["REPAIR_DATA", "SECURE_DELIVER_PART"], "tlvcast.part.total": ["10"],
          "tlvcast.part.offset": ["4"], "tlvcast.part.bytes": ["616263646566"]}),
        (group_part, {"tlvcast.name": ["GROUP_PART"], **group, "tlvcast.group.sender": ["1"],
                      "tlvcast.group.generation": ["3"], "tlvcast.part.msg_id": []}),
        # A blob in two FRAGMENTs of a repairing stream (bare REPAIR_DATA, as on the data group):
        # put together in the second frame.
        (tlv(33, struct.pack("!II", 0x80000002, 0) + tlv(1, struct.pack("!IHH", 0x5eed, 0, 2) + group_part[:80])),
         {"tlvcast.name": ["REPAIR_DATA", "FRAGMENT"], "tlvcast.fragment.seq": ["0"]}),
        (tlv(33, struct.pack("!II", 0x80000002, 1) + tlv(1, struct.pack("!IHH", 0x5eed, 1, 2) + group_part[80:])),
         {"tlvcast.name": ["REPAIR_DATA", "FRAGMENT", "GROUP_PART"], "tlvcast.fragment.seq": ["1"],
          "tlvcast.group.generation": ["3"]}),
        # Secure batches (types 43-44): record plaintext, shown when met in clear.
        (v["SECURE_BATCH blob"], {"tlvcast.name": ["SECURE_BATCH"], "tlvcast.batch.count": ["3"],
                                  "tlvcast.batch.length": ["2", "0", "3"], "tlvcast.message": ["6869", "746c76"]}),
        (v["SECURE_DELIVER_BATCH blob"],
         {"tlvcast.name": ["SECURE_DELIVER_BATCH"], "tlvcast.ipv4": ["10.0.0.1"], "tlvcast.port": ["40000"],
          "tlvcast.batch.count": ["3"], "tlvcast.batch.length": ["2", "0", "3"]}),
        (tlv(43, batch([b""] * 256)), {"tlvcast.name": ["SECURE_BATCH"], "tlvcast.batch.count": ["256"]}),
    ]
    return [c[0] for c in cases], [c[1] for c in cases]


def datagrams(seed=2026):
    """(datagrams, {index: why it is malformed}): those in the dict must get expert info
    "malformed"; the others (garbage inside valid bounds, unknown types) must only not break."""
    rng = random.Random(seed)
    out, malformed = [], {}

    def bad(d, why):
        malformed[len(out)] = why
        out.append(d)

    for n in range(1, 4):
        bad(b"\x00\x01\x00"[:n], f"a {n}-byte header")
    for t, (lo, hi) in BOUNDS.items():
        bad(tlv(t, rng.randbytes(lo), lo + 10), f"type {t}: length beyond the datagram")
        bad(tlv(t, b"", 0xffff), f"type {t}: length 65535, no value")
        if lo > 0:
            bad(tlv(t, rng.randbytes(lo - 1)), f"type {t}: below {lo}")
        if hi < 65535:
            bad(tlv(t, rng.randbytes(hi + 1)), f"type {t}: above {hi}")
        for _ in range(12):  # garbage within the bounds: every parser's own checks
            out.append(tlv(t, rng.randbytes(rng.randint(lo, min(hi, lo + 300)))))
    # Layouts that do not add up inside valid bounds.
    bad(tlv(1, bytes.fromhex("0000000100020002")), "FRAGMENT seq 2 of 2")
    bad(tlv(1, bytes.fromhex("0000000100000000")), "FRAGMENT total 0")
    bad(tlv(1, bytes.fromhex("0000000100000001") + tlv(3, b"x" * 10, 300)), "a one-fragment blob cut short")
    bad(tlv(10, bytes(6) + tlv(6, b"y" * 256, 400)), "SENDER_INFO: inner length beyond")
    bad(tlv(10, bytes(6) + tlv(9, b"") + b"zz"), "SENDER_INFO: bytes after the inner TLV")
    bad(tlv(13, bytes(55)), "SECURE_HELLO: a 5-byte cookie")
    bad(tlv(38, bytes.fromhex("4000000100000000c83c") + bytes(6)), "REPAIR_PARITY: 200 + 60 symbols in a block")
    bad(tlv(38, bytes.fromhex("40000001000000000000") + bytes(6)), "REPAIR_PARITY: count 0")
    bad(tlv(19, b"\x01\x05" + bytes(50)), "SECURE_PRESENCE: family 5")
    bad(tlv(19, b"\x01\x04" + bytes(50)), "SECURE_PRESENCE: family 4, not v4-mapped")
    bad(tlv(25, bytes(150)), "GROUP_JOIN of 150 bytes")
    bad(tlv(29, bytes(28 + 67)), "GROUP_WELCOME: 67 bytes of entries")
    bad(tlv(29, bytes(28)), "GROUP_WELCOME: no entries")
    bad(tlv(40, part(1, 10, 5, b"x" * 6)), "SECURE_PART: offset 5 + 6 bytes beyond total 10")
    bad(tlv(40, part(1, 10, 11)), "SECURE_PART: offset 11 beyond total 10, no bytes")
    bad(tlv(40, part(1, 0xffffffff, 0xfffffffc, b"x" * 8)), "SECURE_PART: offset + bytes beyond 2^32")
    bad(tlv(40, bytes(11)), "SECURE_PART: 11 bytes, shorter than its header")
    bad(tlv(41, DELIVER_SENDER + part(2, 3, 0, b"four")), "SECURE_DELIVER_PART: 4 bytes beyond total 3")
    bad(tlv(41, DELIVER_SENDER + bytes(11)), "SECURE_DELIVER_PART: an 11-byte part")
    bad(tlv(33, struct.pack("!II", 5, 9) + tlv(40, part(1, 1, 1, b"x"))), "SECURE_PART in REPAIR_DATA: beyond")
    bad(tlv(43, batch([b""] * 257)), "SECURE_BATCH: 257 messages")
    bad(tlv(43, batch([], extra=b"\x00\x00")), "SECURE_BATCH: count 0")
    bad(tlv(43, batch([b"a", b"b"], count=3)), "SECURE_BATCH: count 3, two messages")
    bad(tlv(43, batch([b"ab"], extra=b"\x00")), "SECURE_BATCH: a byte after the last message")
    bad(tlv(43, batch([b"abcdef"])[:-2]), "SECURE_BATCH: a message past the end")
    bad(tlv(44, DELIVER_SENDER + batch([b"a"], count=2)), "SECURE_DELIVER_BATCH: a length cut short")
    commit = bytearray(rng.randbytes(226))
    commit[89:91] = b"\x00\x05"  # five removals that the length does not hold
    bad(tlv(28, bytes(commit)), "GROUP_COMMIT: counts beyond its length")
    commit[89:91] = b"\x00\x00"
    commit[91:95] = b"\x00\x00\x00\x00"
    commit[159:161] = b"\x00\x00"  # no entries, no certificate: 64 bytes left over... or short
    bad(tlv(28, bytes(commit) + b"extra"), "GROUP_COMMIT: bytes left over")
    # Nesting: one-fragment blobs and sender infos inside each other, deeper than the dissector goes.
    inner = tlv(9, b"")
    for _ in range(12):
        inner = tlv(1, bytes.fromhex("0000000100000001") + tlv(10, bytes(6) + inner))
    out.append(inner)
    out += [b"", tlv(0, b"abc"), tlv(0xffff, b""), tlv(2, b"x" * 8), tlv(9, b"") + b"trailing bytes"]
    for _ in range(150):  # random bytes, and random bytes behind a known type
        d = rng.randbytes(rng.randint(1, 120))
        out.append(d)
        out.append(struct.pack("!H", rng.choice(list(BOUNDS))) + d)
    return out, malformed


def beyond_limits():
    """[(datagram, why)]: valid on the wire, beyond a default limit of the receivers: each must get
    expert info "beyond the default limit", and none "malformed"."""
    return [(tlv(40, part(1, LIMIT + 1, 0, b"x" * 100)), "SECURE_PART: total 16 MiB + 1"),
            (tlv(40, part(1, 0xffffffff, 0xffffff00, b"x" * 255)), "SECURE_PART: total 4 GiB - 1, its last bytes"),
            (tlv(41, DELIVER_SENDER + part(9, 1 << 30, 1 << 29)), "SECURE_DELIVER_PART: total 1 GiB")]
