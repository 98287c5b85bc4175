// SPDX-License-Identifier: BSL-1.0
// What the known-relays review tests (review.cpp, review_findings.cpp) share: files in a scratch
// directory, fixed fingerprints, the default group, and loading a trust store from a file.
#pragma once

#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/trust/known_relays.hpp>

#include "crypto/helpers.hpp"

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>

namespace tlvcast::crypto::test {

inline std::string read_file(const std::filesystem::path& p)
{
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

inline void write_file(const std::filesystem::path& p, const std::string& text)
{
    std::ofstream out(p, std::ios::binary);
    out << text;
}

/// A fingerprint of 32 bytes `n`.
inline fingerprint fixed_fingerprint(std::uint8_t n)
{
    fingerprint fp{};
    fp.fill(static_cast<std::byte>(n));
    return fp;
}

/// The seed profile's default group, 224.1.1.1:5007.
inline const endpoint default_group{0xe0010101u, 5007};

/// A trust store loaded from `file` (errors in `ec`).
inline relay_trust load_trust(const std::filesystem::path& file, std::error_code& ec)
{
    relay_trust t;
    trust::load_known_relays(file, t, ec);
    return t;
}

} // namespace tlvcast::crypto::test
