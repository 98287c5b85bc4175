# SPDX-License-Identifier: BSL-1.0
"""A minimal seed-profile relay in Python, written only from the seed profile's specification
(docs/PROTOCOL.md, "Seed profile") with the
`cryptography` package: keys (4), server key (7 -> 5), keep-alives (9), fragments (1) reassembled and
decrypted, CONNECT -> 11, DISCONNECT -> 12, other texts -> 10(6) to every other registered client,
clients silent for 3 keep-alive periods -> 12. Single-threaded, for tests."""
import socket
import struct
import threading
import time

from cryptography.hazmat.primitives import serialization

from seed_peer import (CLIENT_CONNECTED, CLIENT_DISCONNECTED, ENCRYPTED_BLOCK, FRAGMENT, KEEPALIVE, OAEP,
                       REGISTER_PUBLIC_KEY, RELAYED_MESSAGE, REQUEST_SERVER_KEY, SENDER_INFO, SERVER_PUBLIC_KEY,
                       new_key, pack_address, public_pem, read_tlv, read_tlvs, seal_blocks, tlv)


class SeedRelay:
    def __init__(self, group="224.1.1.1", port=5007, client_timeout=15.0):
        self.key = new_key()
        self.client_timeout = client_timeout
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("", port))
        self.sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                             socket.inet_aton(group) + socket.inet_aton("0.0.0.0"))
        self.sock.settimeout(0.1)
        self.clients = {}     # (ip, port) -> public key
        self.last_seen = {}
        self.partial = {}     # (ip, port, msg_id) -> {seq: bytes}
        self.log = []         # ("registered"|"connected"|"disconnected"|"message", addr, text)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def start(self):
        self.thread.start()
        return self

    def close(self):
        self.stop.set()
        self.thread.join(5)
        self.sock.close()

    def _run(self):
        while not self.stop.is_set():
            try:
                data, src = self.sock.recvfrom(65536)
            except socket.timeout:
                data = None
            if data is not None:
                self._handle(data, src)
            now = time.monotonic()
            for c in [c for c, t in self.last_seen.items() if now - t >= self.client_timeout]:
                self._forget(c)
                self._announce(CLIENT_DISCONNECTED, c)

    def _forget(self, c):
        self.clients.pop(c, None)
        self.last_seen.pop(c, None)

    def _announce(self, kind, about):
        for other in self.clients:
            if other != about:
                self.sock.sendto(tlv(kind, pack_address(*about)), other)

    def _handle(self, data, src):
        r = read_tlv(data)
        if r is None:
            return
        t, v = r
        if t == REGISTER_PUBLIC_KEY:
            try:
                self.clients[src] = serialization.load_pem_public_key(v)
            except ValueError:
                return
            self.last_seen[src] = time.monotonic()
            self.log.append(("registered", src, None))
        elif t == REQUEST_SERVER_KEY:
            self.sock.sendto(tlv(SERVER_PUBLIC_KEY, public_pem(self.key)), src)
        elif src not in self.clients:
            return  # dropped: no key registered
        elif t == KEEPALIVE:
            self.last_seen[src] = time.monotonic()
        elif t == FRAGMENT and len(v) >= 8:
            self.last_seen[src] = time.monotonic()
            msg_id = v[:4]
            seq, total = struct.unpack(">HH", v[4:8])
            if total < 1 or seq >= total:
                return
            parts = self.partial.setdefault((src, msg_id), {})
            parts[seq] = v[8:]
            if len(parts) < total:
                return
            del self.partial[(src, msg_id)]
            blocks = read_tlvs(b"".join(parts[i] for i in range(total)))
            if not blocks or any(bt != ENCRYPTED_BLOCK for bt, _ in blocks):
                return
            try:
                text = b"".join(self.key.decrypt(b, OAEP) for _, b in blocks)
            except ValueError:
                return
            self._message(src, text)

    def _message(self, src, text):
        if text == b"CONNECT":
            self.log.append(("connected", src, None))
            self._announce(CLIENT_CONNECTED, src)
        elif text == b"DISCONNECT":
            self.log.append(("disconnected", src, None))
            self._announce(CLIENT_DISCONNECTED, src)
            self._forget(src)
        else:
            self.log.append(("message", src, text))
            for other, key in self.clients.items():
                if other != src:
                    inner = tlv(RELAYED_MESSAGE, b"".join(seal_blocks(key, text)))
                    self.sock.sendto(tlv(SENDER_INFO, pack_address(*src) + inner), other)
