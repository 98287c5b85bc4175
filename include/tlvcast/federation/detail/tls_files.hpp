// SPDX-License-Identifier: BSL-1.0
// Checks of the files the NATS link hands to libnats (credentials, TLS CA, certificate, key), made
// before libnats opens them: libnats blocks forever on a FIFO, and OpenSSL asks for an encrypted
// key's pass phrase on the terminal and waits (tests/federation/review_tls.cpp).
#pragma once

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <system_error>

namespace tlvcast::federation::detail {

/// A PEM key is a few KiB; anything past this is not one (and is not read whole).
inline constexpr std::uintmax_t max_key_file_bytes = 1u << 20;

/// Throws std::runtime_error naming `path` unless it is a regular file (after symbolic links) that
/// this process can read: a FIFO, a device or a directory is refused without being opened.
inline void check_regular_file(const std::string& path, const char* what)
{
    std::error_code ec;
    if (!std::filesystem::is_regular_file(path, ec))
        throw std::runtime_error(std::string("federation: the ") + what + " " + path +
                                 (ec ? " cannot be read: " + ec.message() : std::string(" is not a regular file")));
    if (!std::ifstream(path))
        throw std::runtime_error(std::string("federation: cannot read the ") + what + " " + path);
}

/// check_regular_file(), and a key file must be small and not encrypted: the link has no pass
/// phrase to give (PKCS#8 "ENCRYPTED PRIVATE KEY" or a legacy "Proc-Type: 4,ENCRYPTED" header).
inline void check_key_file(const std::string& path)
{
    check_regular_file(path, "TLS key file");
    std::error_code ec;
    if (std::filesystem::file_size(path, ec) > max_key_file_bytes || ec)
        throw std::runtime_error("federation: the TLS key file " + path + " is not a PEM key (over 1 MiB)");
    std::ifstream in(path, std::ios::binary);
    const std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    if (text.find("ENCRYPTED") != std::string::npos)
        throw std::runtime_error("federation: the TLS key file " + path +
                                 " is encrypted; the relay takes an unencrypted PEM key (keep it readable by "
                                 "the relay's user only)");
}

} // namespace tlvcast::federation::detail
