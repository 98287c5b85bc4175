// SPDX-License-Identifier: BSL-1.0
// Helpers shared by the crypto tests: byte strings from hex and text, test patterns, a scratch directory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <unistd.h>

namespace tlvcast::crypto::test {

/// The bytes of a lowercase hex string (two digits a byte; a trailing odd digit is ignored).
inline std::vector<std::byte> hex(std::string_view s)
{
    auto nibble = [](char c) { return static_cast<unsigned>(c <= '9' ? c - '0' : c - 'a' + 10); };
    std::vector<std::byte> v;
    for (std::size_t i = 0; i + 1 < s.size(); i += 2)
        v.push_back(static_cast<std::byte>(nibble(s[i]) << 4 | nibble(s[i + 1])));
    return v;
}

/// A copy of the characters of `s` as bytes.
inline std::vector<std::byte> text(std::string_view s)
{
    const auto* p = reinterpret_cast<const std::byte*>(s.data());
    return {p, p + s.size()};
}

/// A view of the characters of `s` as bytes (no copy: `s` must outlive it).
inline std::span<const std::byte> as_bytes(std::string_view s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

/// `n` bytes that differ with `seed` and along the buffer, to tell payloads apart.
inline std::vector<std::byte> pattern(std::size_t n, unsigned seed)
{
    std::vector<std::byte> v(n);
    for (std::size_t i = 0; i < n; ++i)
        v[i] = static_cast<std::byte>((i * 31 + seed) & 0xff);
    return v;
}

/// A fresh directory under the system's temporary directory, removed with its contents at scope exit.
struct temp_dir {
    std::filesystem::path path;
    explicit temp_dir(std::string_view prefix = "tlvcast-crypto-")
    {
        std::random_device rd;
        path = std::filesystem::temp_directory_path() /
               (std::string{prefix} + std::to_string(::getpid()) + "-" + std::to_string(rd()));
        std::filesystem::create_directories(path);
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir()
    {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
};

} // namespace tlvcast::crypto::test
