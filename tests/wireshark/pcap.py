# SPDX-License-Identifier: BSL-1.0
"""Writes UDP datagrams to a pcap file (LINKTYPE_RAW: IPv4 headers, no link layer), so that the
dissector's test can feed tshark datagrams no program would send."""
import struct

LINKTYPE_RAW = 101


def ipv4_udp(payload, src=("127.0.0.1", 40000), dst=("224.1.1.1", 5007)):
    """One IPv4 packet holding one UDP datagram; the UDP checksum is 0 (none, valid for IPv4)."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 1, 17, 0,
                         bytes(map(int, src[0].split("."))), bytes(map(int, dst[0].split("."))))
    words = struct.unpack("!10H", header)
    total = sum(words)
    while total > 0xffff:
        total = (total & 0xffff) + (total >> 16)
    return header[:10] + struct.pack("!H", ~total & 0xffff) + header[12:] + udp


def write(path, payloads, **addresses):
    """A pcap file of one packet per payload (bytes), one millisecond apart."""
    with open(path, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xa1b2c3d4, 2, 4, 0, 0, 262144, LINKTYPE_RAW))
        for i, payload in enumerate(payloads):
            packet = ipv4_udp(payload, **addresses)
            f.write(struct.pack("<IIII", 1_700_000_000, i * 1000, len(packet), len(packet)))
            f.write(packet)
