#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Writes the fuzzers' seed corpora from the seed profile's golden vectors.

The bytes are typed in by hand from docs/PROTOCOL.md ("Seed profile"), like tests/wire/golden.hpp (keep the two
in step). Run from anywhere: /usr/bin/python3 fuzz/make_corpus.py. Rewrites
fuzz/corpus/tlv_reader/ and fuzz/corpus/fragment_header/ (small files, committed).
"""
import pathlib

HERE = pathlib.Path(__file__).resolve().parent


def counting(n, start=0):
    """n bytes start, start+1, ... mod 256: stand-in ciphertext."""
    return bytes((start + i) & 0xFF for i in range(n))


# A real RSA-2048 public key, PEM SubjectPublicKeyInfo, 451 bytes (0x01c3).
PEM = (
    b"-----BEGIN PUBLIC KEY-----\n"
    b"MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAm12c50xoHD9RoMvrgxg1\n"
    b"zHqjounXZAyzN+AQ9fR8yPGjVoNNCXVmz4Ps+fnFtQTTc1ydDW6lHw/EtMzhk7Ku\n"
    b"KxhjsL+LvpfU8/fWxVv0wizZBdchQpmDPDHDJHAfm0bA3LJD8MIX/oPEKUOG2zUr\n"
    b"N0cDLs0m4+s7X27XvVA/xV2+hhDBjbSLx+s+E8JX/JiyECFUBArrdOYSPxznP6tA\n"
    b"4NzO3dBk7rc6IMulYDYYNaqmxw1y5olRhpcK0sg2XF5Z1vNuR2IRm/THKJDO2pHl\n"
    b"60A79DmjmrE7L84+8ypDfrAS09T17hBploHNC3oTEJkmt6S8d/oK9Ji/MEaMer5P\n"
    b"CwIDAQAB\n"
    b"-----END PUBLIC KEY-----\n"
)
assert len(PEM) == 0x01C3

GOLDEN = {
    "fragment_hi": bytes.fromhex("0001000a deadbeef 0001 0003 6869"),
    "fragment_empty": bytes.fromhex("00010008 01020304 0000 0001"),
    "fragment_full": bytes.fromhex("00010108 a1b2c3d4 0000 0002") + counting(256, 0x40),
    "encrypted_block": bytes.fromhex("00030100") + counting(256, 0x80),
    "register_public_key": bytes.fromhex("000401c3") + PEM,
    "server_public_key": bytes.fromhex("000501c3") + PEM,
    "relayed_message": bytes.fromhex("00060200") + counting(512, 7),
    "request_server_key": bytes.fromhex("00070000"),
    "keepalive": bytes.fromhex("00090000"),
    # 192.168.1.7:5007 wrapping RELAYED_MESSAGE of one 256-byte block.
    "sender_info": bytes.fromhex("000a010a c0a80107 138f 00060100") + counting(256),
    "client_connected": bytes.fromhex("000b0006 c0a80107 138f"),
    "client_disconnected": bytes.fromhex("000c0006 0a000002 c350"),
}

# Malformed datagrams, one per error the reader reports, and a few the value codecs report.
MALFORMED = {
    "bad_empty": b"",
    "bad_truncated_header": bytes.fromhex("0009 00"),
    "bad_truncated_value": bytes.fromhex("0001000a deadbeef"),
    "bad_keepalive_with_value": bytes.fromhex("00090001 ff"),
    "bad_presence_too_long": bytes.fromhex("000b0007 c0a80107 138f 00"),
    "bad_fragment_total_zero": bytes.fromhex("00010008 deadbeef 0000 0000"),
    "bad_fragment_seq_past_total": bytes.fromhex("00010008 deadbeef 0003 0003"),
    "bad_sender_info_keepalive_inside": bytes.fromhex("000a000a c0a80107 138f 00090000"),
    "bad_sender_info_unknown_inside": bytes.fromhex("000a000b c0a80107 138f 00080001 00"),
    "unknown_type_8": bytes.fromhex("00080002 abcd"),
    "trailing_bytes": bytes.fromhex("00090000 00070000"),
}


def write(target, name, data):
    folder = HERE / "corpus" / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_bytes(data)


def main():
    for name, data in {**GOLDEN, **MALFORMED}.items():
        write("tlv_reader", name, data)
    # A sequence of every golden TLV, for the "iterate the whole buffer" part.
    write("tlv_reader", "sequence_all", b"".join(GOLDEN.values()))
    # The fragment_header target takes a FRAGMENT value (no TLV header).
    for name, data in GOLDEN.items():
        if name.startswith("fragment_"):
            write("fragment_header", name, data[4:])
    for name in ("bad_fragment_total_zero", "bad_fragment_seq_past_total", "bad_truncated_value"):
        write("fragment_header", name, MALFORMED[name][4:])
    write("fragment_header", "max_seq", bytes.fromhex("ffffffff fffe ffff") + b"x")


if __name__ == "__main__":
    main()
