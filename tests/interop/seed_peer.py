# SPDX-License-Identifier: BSL-1.0
"""An independent seed-profile client and relay in Python, written only from
the seed profile's specification (docs/PROTOCOL.md, "Seed profile") with the `cryptography`
package (Debian python3-cryptography).
They exist to check that the C++ programs speak the profile byte for byte.

SeedPeer: one UDP socket, sends to the group, receives the relay's unicast answers (types 5, 10/6,
11, 12). SeedRelay (in seed_relay.py) is the matching minimal relay."""
import os
import queue
import socket
import struct
import threading
import time

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

FRAGMENT, ENCRYPTED_BLOCK, REGISTER_PUBLIC_KEY, SERVER_PUBLIC_KEY = 1, 3, 4, 5
RELAYED_MESSAGE, REQUEST_SERVER_KEY, KEEPALIVE, SENDER_INFO = 6, 7, 9, 10
CLIENT_CONNECTED, CLIENT_DISCONNECTED = 11, 12
FRAGMENT_SIZE = 256
CHUNK = 190  # 256 - 2*32 - 2: the largest RSA-OAEP-SHA256 plaintext for a 2048-bit key
OAEP = padding.OAEP(mgf=padding.MGF1(algorithm=hashes.SHA256()), algorithm=hashes.SHA256(), label=None)


def tlv(t, value=b""):
    """type u16 BE, length u16 BE, value."""
    if len(value) > 0xFFFF:
        raise ValueError("TLV value over 65,535 bytes")
    return struct.pack(">HH", t, len(value)) + value


def read_tlv(data):
    """(type, value) of the outer TLV; None when truncated. Bytes after it are ignored."""
    if len(data) < 4:
        return None
    t, n = struct.unpack(">HH", data[:4])
    if len(data) < 4 + n:
        return None
    return t, data[4:4 + n]


def read_tlvs(data):
    """Every TLV of a concatenation; None when one is truncated."""
    out = []
    while data:
        r = read_tlv(data)
        if r is None:
            return None
        out.append(r)
        data = data[4 + len(r[1]):]
    return out


def address(value):
    """'ip:port' from 4 address bytes and a u16 BE port."""
    return f"{socket.inet_ntoa(value[:4])}:{struct.unpack('>H', value[4:6])[0]}"


def pack_address(ip, port):
    return socket.inet_aton(ip) + struct.pack(">H", port)


def new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def public_pem(key):
    return key.public_key().public_bytes(serialization.Encoding.PEM,
                                         serialization.PublicFormat.SubjectPublicKeyInfo)


def seal_blocks(public_key, plaintext):
    """Ciphertexts of the 190-byte chunks (one empty chunk for an empty text)."""
    chunks = [plaintext[i:i + CHUNK] for i in range(0, len(plaintext), CHUNK)] or [b""]
    return [public_key.encrypt(c, OAEP) for c in chunks]


def fragments(blob, msg_id=None):
    """The type-1 datagrams of one blob: random 4-byte msg_id, seq 0.., total, <= 256-byte parts."""
    msg_id = msg_id or os.urandom(4)
    parts = [blob[i:i + FRAGMENT_SIZE] for i in range(0, len(blob), FRAGMENT_SIZE)] or [b""]
    return [tlv(FRAGMENT, msg_id + struct.pack(">HH", seq, len(parts)) + p) for seq, p in enumerate(parts)]


def local_address(group, port, sock):
    """This socket's address as a peer sees it: the kernel's source address towards the group."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect((group, port))
        ip = probe.getsockname()[0]
    return f"{ip}:{sock.getsockname()[1]}"


class SeedPeer:
    """A seed-profile client. Events go to a queue as tuples: ("message", from, bytes),
    ("connected", peer), ("disconnected", peer), ("undecryptable",)."""

    def __init__(self, group="224.1.1.1", port=5007, keepalive=5.0):
        self.group = (group, port)
        self.keepalive = keepalive
        self.key = new_key()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, 1)
        # Not bound explicitly: the first sendto picks the ephemeral port (the profile's client).
        self.relay_key = None
        self.relay_addr = None
        self.events = queue.Queue()
        self.stop = threading.Event()
        self.threads = []

    def send(self, data):
        self.sock.sendto(data, self.group)

    def register(self, wait=5.0, attempts=3):
        """Types 4 and 7, then waits for type 5 (retrying); then receiving, keep-alives and CONNECT."""
        for _ in range(attempts):
            self.send(tlv(REGISTER_PUBLIC_KEY, public_pem(self.key)))
            self.send(tlv(REQUEST_SERVER_KEY))
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                self.sock.settimeout(max(0.01, deadline - time.monotonic()))
                try:
                    data, src = self.sock.recvfrom(65536)
                except socket.timeout:
                    break
                r = read_tlv(data)
                if r and r[0] == SERVER_PUBLIC_KEY:
                    self.relay_key = serialization.load_pem_public_key(r[1])
                    self.relay_addr = src
                    break
            if self.relay_key:
                break
        if not self.relay_key:
            raise TimeoutError("no relay answered")
        self.local = local_address(self.group[0], self.group[1], self.sock)
        self.sock.settimeout(0.2)
        for target in (self._receive, self._keepalive):
            t = threading.Thread(target=target, daemon=True)
            t.start()
            self.threads.append(t)
        self.send_text(b"CONNECT")

    def send_text(self, plaintext):
        """One message: chunks sealed to the relay's key, type-3 TLVs, fragmented into type 1."""
        blob = b"".join(tlv(ENCRYPTED_BLOCK, c) for c in seal_blocks(self.relay_key, plaintext))
        for d in fragments(blob):
            self.send(d)

    def close(self):
        """DISCONNECT, then stop."""
        self.send_text(b"DISCONNECT")
        self.stop.set()
        for t in self.threads:
            t.join(2)
        self.sock.close()

    def _keepalive(self):
        while not self.stop.wait(self.keepalive):
            self.send(tlv(KEEPALIVE))

    def _receive(self):
        while not self.stop.is_set():
            try:
                data, _ = self.sock.recvfrom(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            self._handle(data, None)

    def _handle(self, data, sender):
        r = read_tlv(data)
        if r is None:
            return
        t, v = r
        if t == SENDER_INFO and len(v) >= 6 and sender is None:
            self._handle(v[6:], address(v))
        elif t == RELAYED_MESSAGE:
            size = self.key.key_size // 8
            if not v or len(v) % size:
                self.events.put(("malformed",))
                return
            try:
                text = b"".join(self.key.decrypt(v[i:i + size], OAEP) for i in range(0, len(v), size))
            except ValueError:
                self.events.put(("undecryptable",))
                return
            self.events.put(("message", sender, text))
        elif t == CLIENT_CONNECTED and len(v) >= 6:
            self.events.put(("connected", address(v)))
        elif t == CLIENT_DISCONNECTED and len(v) >= 6:
            self.events.put(("disconnected", address(v)))

    def wait_event(self, pred, timeout=20.0):
        """The first queued event satisfying pred (others are kept in `seen`); TimeoutError."""
        deadline = time.monotonic() + timeout
        if not hasattr(self, "seen"):
            self.seen = []
        for e in self.seen:
            if pred(e):
                self.seen.remove(e)
                return e
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no matching event; seen {[e[:2] for e in self.seen][-10:]}")
            try:
                e = self.events.get(timeout=left)
            except queue.Empty:
                continue
            if pred(e):
                return e
            self.seen.append(e)
