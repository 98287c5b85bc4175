// The secure profile's known-relays file (trust on first use): one "ip:port HEX" line per relay address.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <filesystem>
#include <fstream>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto::detail {

/// Parses 64 hex digits (either case); nullopt otherwise.
inline std::optional<fingerprint> fingerprint_from_hex(std::string_view hex) noexcept { return from_hex<32>(hex); }

/// The fingerprint remembered for `relay`, or nullopt (also when the file does not exist yet).
/// Lines that do not parse are skipped; the first line for an address wins. Error: handshake_failed
/// when the file exists but cannot be read.
inline std::optional<fingerprint> known_relay(const std::filesystem::path& file, const endpoint& relay,
                                              std::error_code& ec)
{
    ec = {};
    std::error_code fs_ec;
    if (!std::filesystem::exists(file, fs_ec))
        return std::nullopt;
    std::ifstream in(file);
    if (!in) {
        ec = errc::handshake_failed;
        return std::nullopt;
    }
    const std::string key = relay.to_string();
    std::string line;
    while (std::getline(in, line)) {
        const auto space = line.find(' ');
        if (space == std::string::npos || std::string_view(line).substr(0, space) != key)
            continue;
        std::string_view hex = std::string_view(line).substr(space + 1);
        while (!hex.empty() && (hex.back() == '\r' || hex.back() == ' '))
            hex.remove_suffix(1);
        if (auto fp = fingerprint_from_hex(hex))
            return fp;
    }
    return std::nullopt;
}

/// Appends "ip:port HEX\n" for `relay`. Error: handshake_failed when the file cannot be written
/// (a client that cannot remember a relay does not trust it).
inline void remember_relay(const std::filesystem::path& file, const endpoint& relay, const std::string& hex,
                           std::error_code& ec)
{
    ec = {};
    std::ofstream out(file, std::ios::app);
    out << relay.to_string() << ' ' << hex << '\n';
    out.flush();
    if (!out)
        ec = errc::handshake_failed;
}

} // namespace tlvcast::crypto::detail
