// SPDX-License-Identifier: BSL-1.0
// Golden datagrams for every seed-profile TLV type, written out by hand from docs/PROTOCOL.md "Seed profile".
//
// These bytes pin the wire format: they are typed in from the spec's tables, never produced by the
// code under test. Long values (ciphertexts) are a hand-written header followed by a fill pattern
// made by counting_bytes(), and the PEM key is a real 2048-bit RSA SubjectPublicKeyInfo as Python's
// `cryptography` writes it. fuzz/make_corpus.py writes the same vectors as the fuzzers' seeds.
#pragma once

#include <tlvcast/wire/types.hpp>

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string_view>
#include <vector>

namespace tlvcast::test {

/// Bytes from a list of small integers: bytes({0x00, 0x09, 0x00, 0x00}).
inline std::vector<std::byte> bytes(std::initializer_list<unsigned> list)
{
    std::vector<std::byte> v;
    for (unsigned b : list)
        v.push_back(static_cast<std::byte>(b));
    return v;
}

/// n bytes start, start+1, ... (mod 256): a stand-in for ciphertext whose every byte is known.
inline std::vector<std::byte> counting_bytes(std::size_t n, unsigned start = 0)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((start + i) & 0xffu);
    return v;
}

inline std::vector<std::byte> text_bytes(std::string_view s)
{
    std::vector<std::byte> v;
    for (char c : s)
        v.push_back(static_cast<std::byte>(c));
    return v;
}

inline std::vector<std::byte> cat(std::vector<std::byte> a, const std::vector<std::byte>& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

/// A real RSA-2048 public key, PEM SubjectPublicKeyInfo, 451 bytes (0x01c3) with its final newline.
inline constexpr std::string_view pem_key = "-----BEGIN PUBLIC KEY-----\n"
                                            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAm12c50xoHD9RoMvrgxg1\n"
                                            "zHqjounXZAyzN+AQ9fR8yPGjVoNNCXVmz4Ps+fnFtQTTc1ydDW6lHw/EtMzhk7Ku\n"
                                            "KxhjsL+LvpfU8/fWxVv0wizZBdchQpmDPDHDJHAfm0bA3LJD8MIX/oPEKUOG2zUr\n"
                                            "N0cDLs0m4+s7X27XvVA/xV2+hhDBjbSLx+s+E8JX/JiyECFUBArrdOYSPxznP6tA\n"
                                            "4NzO3dBk7rc6IMulYDYYNaqmxw1y5olRhpcK0sg2XF5Z1vNuR2IRm/THKJDO2pHl\n"
                                            "60A79DmjmrE7L84+8ypDfrAS09T17hBploHNC3oTEJkmt6S8d/oK9Ji/MEaMer5P\n"
                                            "CwIDAQAB\n"
                                            "-----END PUBLIC KEY-----\n";
static_assert(pem_key.size() == 0x01c3);

/// One golden datagram: a single outer TLV.
struct golden {
    std::string_view name;     ///< for test output and corpus file names
    wire::tlv_type type;
    std::vector<std::byte> datagram; ///< the whole TLV: header and value
};

/// FRAGMENT msg_id 0xDEADBEEF seq 1 total 3 payload "hi" (the example).
inline std::vector<std::byte> fragment_hi()
{
    return bytes({0x00, 0x01, 0x00, 0x0a, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x01, 0x00, 0x03, 0x68, 0x69});
}

/// SENDER_INFO from 192.168.1.7:5007 wrapping a RELAYED_MESSAGE of one 256-byte block (0x00..0xff).
inline std::vector<std::byte> sender_info_relayed()
{
    return cat(bytes({0x00, 0x0a, 0x01, 0x0a,             // type 10, length 266 = 6 + 4 + 256
                      0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f, // 192.168.1.7, port 5007
                      0x00, 0x06, 0x01, 0x00}),           // inner type 6, length 256
               counting_bytes(256));
}

/// Every seed-profile type at least once (types 1, 3, 4, 5, 6, 7, 9, 10, 11, 12).
inline std::vector<golden> golden_vectors()
{
    using wire::tlv_type;
    return {
        {"fragment_hi", tlv_type::fragment, fragment_hi()},
        // seq 0 of total 1 with an empty payload: the smallest FRAGMENT.
        {"fragment_empty", tlv_type::fragment,
         bytes({0x00, 0x01, 0x00, 0x08, 0x01, 0x02, 0x03, 0x04, 0x00, 0x00, 0x00, 0x01})},
        // A full 256-byte fragment (FRAGMENT_SIZE): seq 0 of 2, msg_id 0xa1b2c3d4; 264 = 0x0108.
        {"fragment_full", tlv_type::fragment,
         cat(bytes({0x00, 0x01, 0x01, 0x08, 0xa1, 0xb2, 0xc3, 0xd4, 0x00, 0x00, 0x00, 0x02}), counting_bytes(256, 0x40))},
        {"encrypted_block", tlv_type::encrypted_block, cat(bytes({0x00, 0x03, 0x01, 0x00}), counting_bytes(256, 0x80))},
        {"register_public_key", tlv_type::register_public_key, cat(bytes({0x00, 0x04, 0x01, 0xc3}), text_bytes(pem_key))},
        {"server_public_key", tlv_type::server_public_key, cat(bytes({0x00, 0x05, 0x01, 0xc3}), text_bytes(pem_key))},
        // Two 256-byte blocks: 512 = 0x0200.
        {"relayed_message", tlv_type::relayed_message, cat(bytes({0x00, 0x06, 0x02, 0x00}), counting_bytes(512, 7))},
        {"request_server_key", tlv_type::request_server_key, bytes({0x00, 0x07, 0x00, 0x00})},
        {"keepalive", tlv_type::keepalive, bytes({0x00, 0x09, 0x00, 0x00})},
        {"sender_info", tlv_type::sender_info, sender_info_relayed()},
        // 192.168.1.7:5007
        {"client_connected", tlv_type::client_connected,
         bytes({0x00, 0x0b, 0x00, 0x06, 0xc0, 0xa8, 0x01, 0x07, 0x13, 0x8f})},
        // 10.0.0.2:50000 (0xc350)
        {"client_disconnected", tlv_type::client_disconnected,
         bytes({0x00, 0x0c, 0x00, 0x06, 0x0a, 0x00, 0x00, 0x02, 0xc3, 0x50})},
    };
}

} // namespace tlvcast::test
