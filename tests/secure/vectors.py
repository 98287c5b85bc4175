#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Independent computation of the secure profile's handshake test vectors (docs/PROTOCOL.md, "Test vectors").

Uses only Python's `cryptography` package, not tlvcast. Inputs (all fixed):
  client identity seed 01*32, relay identity seed 64*32 (Ed25519, RFC 8032);
  client ephemeral private a0*32, client random a1*16; relay cookie secret b0*32 (not in the
  vectors), relay ephemeral private b1*32, session_id b2*8 (the relay's random source draws them in
  that order);
  AEAD 1 (AES-256-GCM); protocol version 2 (the hello's first byte; the labels keep "v1").
Prints the values that tests/secure/vectors.cpp and PROTOCOL.md hold.
"""
import hashlib, hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives import serialization as s

raw = dict(encoding=s.Encoding.Raw, format=s.PublicFormat.Raw)

id_c = Ed25519PrivateKey.from_private_bytes(bytes([0x01]) * 32)
id_r = Ed25519PrivateKey.from_private_bytes(bytes([0x64]) * 32)
e_c = X25519PrivateKey.from_private_bytes(bytes([0xa0]) * 32)
e_r = X25519PrivateKey.from_private_bytes(bytes([0xb1]) * 32)
r_c = bytes([0xa1]) * 16
sid = bytes([0xb2]) * 8

id_c_pub = id_c.public_key().public_bytes(**raw)
id_r_pub = id_r.public_key().public_bytes(**raw)
e_c_pub = e_c.public_key().public_bytes(**raw)
e_r_pub = e_r.public_key().public_bytes(**raw)

VERSION = 2
hello = bytes([VERSION, 1]) + e_c_pub + r_c
th = hashlib.sha256(b"tlvcast secure v1" + hello + sid + e_r_pub + id_r_pub).digest()
sig_r = id_r.sign(b"tlvcast secure v1 relay" + th)
shared = e_c.exchange(X25519PublicKey.from_public_bytes(e_r_pub))
assert shared == e_r.exchange(X25519PublicKey.from_public_bytes(e_c_pub))

prk = hmac.new(th, shared, hashlib.sha256).digest()
okm, t, i = b"", b"", 1
while len(okm) < 88:
    t = hmac.new(prk, t + b"tlvcast secure v1 keys" + bytes([i]), hashlib.sha256).digest()
    okm += t
    i += 1
okm = okm[:88]
k_c2r, k_r2c, iv_c2r, iv_r2c = okm[:32], okm[32:64], okm[64:76], okm[76:88]

def nonce(iv, seq):
    return bytes(a ^ b for a, b in zip(iv, bytes(4) + seq.to_bytes(8, "big")))

sig_c = id_c.sign(b"tlvcast secure v1 client" + th + sig_r + id_c_pub)
auth = sid + AESGCM(k_c2r).encrypt(nonce(iv_c2r, 0), id_c_pub + sig_c, sid + bytes(8))
server_hello = sid + e_r_pub + id_r_pub + sig_r
accept_inner = bytes([0, 20, 0, 1, 1])
accept_record = sid + bytes(8) + AESGCM(k_r2c).encrypt(nonce(iv_r2c, 0), accept_inner, sid + bytes(8))

def tlv(t, v):
    return t.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v

for name, value in [
    ("hello", hello),
    ("th", th),
    ("shared", shared),
    ("key_block", okm),
    ("server_hello_datagram", tlv(15, server_hello)),
    ("client_auth_datagram", tlv(16, auth)),
    ("accept_record_datagram", tlv(17, accept_record)),
    ("client_fingerprint", hashlib.sha256(id_c_pub).digest()),
    ("relay_fingerprint", hashlib.sha256(id_r_pub).digest()),
]:
    print(f"{name} = {value.hex()}")
