// SPDX-License-Identifier: BSL-1.0
// A program of another project: one TLV from the wire layer, its SHA-256 from the default crypto backend.
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/version.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <array>
#include <cstdio>
#include <string>

#if defined(ASIO_NO_DEPRECATED)
#error "tlvcast must not impose ASIO_NO_DEPRECATED on its users"
#endif

int main()
{
    std::array<std::byte, 16> buf{};
    std::error_code ec;
    tlvcast::wire::tlv_writer out(buf);
    out.put(std::uint16_t{0x1234}, std::array{std::byte{'h'}, std::byte{'i'}}, ec); // 12 34 00 02 68 69
    const std::string hash = tlvcast::crypto::to_hex(tlvcast::crypto::default_suite::sha256(out.written()));
    std::printf("tlvcast %s (%d), %s: %s\n", TLVCAST_VERSION_STRING, TLVCAST_VERSION,
                tlvcast::crypto::default_backend_name.data(), hash.c_str());
    return !ec && hash == "3228c9c272298e762b8fe00a65968b973d8a28c83ed301815aacc085c543fbe6" ? 0 : 1;
}
