#!/usr/bin/python3
# SPDX-License-Identifier: BSL-1.0
"""Independent computation of the group profile's test vectors (docs/PROTOCOL.md, "Group profile").

Uses only Python's `cryptography` package, not tlvcast. Inputs (all fixed):
  member A: Ed25519 identity seed 11*32; its random source draws, in order, its init (X25519)
    private key a0*32, the group id a1*16, epoch 1's secret a2*32, the founding commit's ephemeral
    private key a3*32, epoch 2's secret a4*32 and epoch 2's commit ephemeral a5*32;
  member B: Ed25519 identity seed 12*32; init private key b0*32 (its only draw);
  AEAD AES-256-GCM; then the values that depend on the AEAD again with ChaCha20-Poly1305 (suffix
  _chacha). Key packages have seq 0; no admission certificates.
A founds the group (commit 1), then adds B (commit 2, one welcome page). In epoch 2, A seals
"hello, group" (generation 0) and "second" (generation 1); B seals "hi" (generation 0), then the
batch "one", "", "three" (generation 1).
Prints the values that tests/profile/group/vectors.cpp and PROTOCOL.md hold.
"""
import hashlib, hmac
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, ChaCha20Poly1305
from cryptography.hazmat.primitives import serialization as s

raw = dict(encoding=s.Encoding.Raw, format=s.PublicFormat.Raw)
L = lambda name: b"tlvcast group v1 " + name.encode()


def be(x, n):
    return x.to_bytes(n, "big")


def hkdf_extract(salt, ikm):
    return hmac.new(salt, ikm, hashlib.sha256).digest()


def hkdf_expand(prk, info, n):
    okm, t, i = b"", b"", 1
    while len(okm) < n:
        t = hmac.new(prk, t + info + bytes([i]), hashlib.sha256).digest()
        okm += t
        i += 1
    return okm[:n]


def tlv(t, v):
    return be(t, 2) + be(len(v), 2) + v


def fill(b, n):
    return bytes([b]) * n


id_a = Ed25519PrivateKey.from_private_bytes(fill(0x11, 32))
id_b = Ed25519PrivateKey.from_private_bytes(fill(0x12, 32))
init_a = X25519PrivateKey.from_private_bytes(fill(0xA0, 32))
init_b = X25519PrivateKey.from_private_bytes(fill(0xB0, 32))
gid = fill(0xA1, 16)
secret1, eph1 = fill(0xA2, 32), X25519PrivateKey.from_private_bytes(fill(0xA3, 32))
secret2, eph2 = fill(0xA4, 32), X25519PrivateKey.from_private_bytes(fill(0xA5, 32))

pub = lambda k: k.public_key().public_bytes(**raw)
id_a_pub, id_b_pub, init_a_pub, init_b_pub = pub(id_a), pub(id_b), pub(init_a), pub(init_b)


# A key package: identity(32) init(32) seq(4) signature(64) over label || the first three fields.
def key_package(identity, init_pub, seq):
    body = pub(identity) + init_pub + be(seq, 4)
    return body + identity.sign(L("key package") + body)


kp_a, kp_b = key_package(id_a, init_a_pub, 0), key_package(id_b, init_b_pub, 0)
roster1 = [(id_a_pub, init_a_pub, 0)]
roster2 = roster1 + [(id_b_pub, init_b_pub, 0)]


def roster_hash(roster):
    v = L("roster") + be(len(roster), 2)
    for identity, init, seq in roster:
        v += identity + init + be(seq, 4)
    return hashlib.sha256(v).digest()


# The entry of one member: HKDF(salt = group_id || epoch || prev, ikm = X25519(ephemeral, init),
# info = label || ephemeral || init, 44) = AEAD key(32) || nonce(12); seals the epoch secret, no AAD.
def entry_key(context, eph, init_pub):
    shared = eph.exchange(X25519PublicKey.from_public_bytes(init_pub))
    return hkdf_expand(hkdf_extract(context, shared), L("entry") + pub(eph) + init_pub, 44)


def seal_entry(context, eph, init_pub, secret, aead=AESGCM):
    k = entry_key(context, eph, init_pub)
    return aead(k[:32]).encrypt(k[32:], secret, b"")


# GROUP_COMMIT's value; `added` is a list of (key package, cert or None).
def commit(committer, epoch, prev, removed, updated, added, roster, eph, secret, aead=AESGCM):
    context = gid + be(epoch, 8) + prev
    v = bytes([1]) + context + pub(committer)
    v += be(len(removed), 2) + b"".join(be(i, 2) for i in removed)
    v += be(len(updated), 2) + b"".join(be(i, 2) + kp for i, kp in updated)
    v += be(len(added), 2) + b"".join(kp + (bytes([1]) + c if c else bytes([0])) for kp, c in added)
    v += roster_hash(roster) + pub(eph) + be(len(roster), 2)
    v += b"".join(seal_entry(context, eph, init, secret, aead) for _, init, _ in roster)
    v += bytes([0])  # no committer certificate
    return v + committer.sign(L("commit") + v)


commit1 = commit(id_a, 1, bytes(32), [], [], [(kp_a, None)], roster1, eph1, secret1)
hash1 = hashlib.sha256(commit1).digest()
commit2 = commit(id_a, 2, hash1, [], [], [(kp_b, None)], roster2, eph2, secret2)
context2 = gid + be(2, 8) + hash1
welcome2 = gid + be(2, 8) + be(0, 2) + be(len(roster2), 2) + b"".join(i + k + be(q, 4) for i, k, q in roster2)


def sender_root(secret, index):
    return hkdf_expand(secret, L("sender") + be(index, 2), 32)


def ratchet_step(chain):  # -> (message key(32) || nonce(12), next chain key)
    return hkdf_expand(chain, L("key"), 44), hkdf_expand(chain, L("chain"), 32)


def message_keys(secret, index, n):
    chain, out = sender_root(secret, index), []
    for _ in range(n):
        mk, chain = ratchet_step(chain)
        out.append(mk)
    return out


# GROUP_MESSAGE's value: header = group_id(16) epoch(8) sender(2) generation(4), the AAD;
# plaintext = message || Ed25519(label || header || message).
def message(identity, epoch, secret, sender, generation, text, aead=AESGCM):
    header = gid + be(epoch, 8) + be(sender, 2) + be(generation, 4)
    mk = message_keys(secret, sender, generation + 1)[generation]
    content = text + identity.sign(L("message") + header + text)
    return header + aead(mk[:32]).encrypt(mk[32:], content, header)


# GROUP_BATCH's value: the same header; plaintext = entries || Ed25519("... batch" || header ||
# entries), each entry length(2) || message.
def batch(identity, epoch, secret, sender, generation, texts, aead=AESGCM):
    header = gid + be(epoch, 8) + be(sender, 2) + be(generation, 4)
    mk = message_keys(secret, sender, generation + 1)[generation]
    entries = b"".join(be(len(t), 2) + t for t in texts)
    content = entries + identity.sign(L("batch") + header + entries)
    return header + aead(mk[:32]).encrypt(mk[32:], content, header)


batch_texts = [b"one", b"", b"three"]
mk_a = message_keys(secret2, 0, 2)
mk_b = message_keys(secret2, 1, 2)
for name, value in [
    ("identity_a", id_a_pub),
    ("identity_b", id_b_pub),
    ("init_a", init_a_pub),
    ("init_b", init_b_pub),
    ("key_package_a", kp_a),
    ("key_package_b", kp_b),
    ("roster_hash_1", roster_hash(roster1)),
    ("roster_hash_2", roster_hash(roster2)),
    ("commit_1", commit1),
    ("commit_1_hash", hash1),
    ("entry_key_b", entry_key(context2, eph2, init_b_pub)),
    ("entry_b", seal_entry(context2, eph2, init_b_pub, secret2)),
    ("commit_2", commit2),
    ("commit_2_hash", hashlib.sha256(commit2).digest()),
    ("welcome_2_blob", tlv(29, welcome2)),
    ("sender_root_0", sender_root(secret2, 0)),
    ("sender_root_1", sender_root(secret2, 1)),
    ("message_key_0_0", mk_a[0]),
    ("message_key_0_1", mk_a[1]),
    ("message_key_1_0", mk_b[0]),
    ("message_key_1_1", mk_b[1]),
    ("message_a_0_blob", tlv(30, message(id_a, 2, secret2, 0, 0, b"hello, group"))),
    ("message_a_1_blob", tlv(30, message(id_a, 2, secret2, 0, 1, b"second"))),
    ("message_b_0_blob", tlv(30, message(id_b, 2, secret2, 1, 0, b"hi"))),
    ("batch_b_1_blob", tlv(32, batch(id_b, 2, secret2, 1, 1, batch_texts))),
]:
    print(f"{name} = {value.hex()}")

# The same group with ChaCha20-Poly1305: the entries, hence the commits, and the messages change.
c = ChaCha20Poly1305
commit1_c = commit(id_a, 1, bytes(32), [], [], [(kp_a, None)], roster1, eph1, secret1, c)
hash1_c = hashlib.sha256(commit1_c).digest()
commit2_c = commit(id_a, 2, hash1_c, [], [], [(kp_b, None)], roster2, eph2, secret2, c)
for name, value in [
    ("commit_1_hash_chacha", hash1_c),
    ("entry_b_chacha", seal_entry(gid + be(2, 8) + hash1_c, eph2, init_b_pub, secret2, c)),
    ("commit_2_hash_chacha", hashlib.sha256(commit2_c).digest()),
    ("message_a_0_blob_chacha", tlv(30, message(id_a, 2, secret2, 0, 0, b"hello, group", c))),
    ("message_a_1_blob_chacha", tlv(30, message(id_a, 2, secret2, 0, 1, b"second", c))),
    ("message_b_0_blob_chacha", tlv(30, message(id_b, 2, secret2, 1, 0, b"hi", c))),
    ("batch_b_1_blob_chacha", tlv(32, batch(id_b, 2, secret2, 1, 1, batch_texts, c))),
]:
    print(f"{name} = {value.hex()}")
