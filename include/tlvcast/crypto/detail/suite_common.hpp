// Steps shared by every suite backend, so that all of them accept, refuse and derive alike.
#pragma once

#include <tlvcast/crypto/detail/suite_key_file.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <system_error>

namespace tlvcast::crypto::detail {

/// Finishes an X25519 agreement whose library call reported `ok`: true (ec cleared) unless the call
/// failed or the shared secret is all zero (a low-order peer key, RFC 7748 section 6.1); then
/// `shared` is zeroed, ec is errc::handshake_failed and the result false. Never throws.
inline bool suite_x25519_result(bool ok, std::span<std::byte, x25519_key_size> shared, std::error_code& ec) noexcept
{
    // The all-zero check is what RFC 7748 section 6.1 asks for; it covers any point a library's own list misses.
    if (!ok || suite_all_zero(shared.data(), shared.size())) {
        std::fill(shared.begin(), shared.end(), std::byte{0});
        ec = errc::handshake_failed;
        return false;
    }
    ec.clear();
    return true;
}

/// A fresh Ed25519 identity: a seed from Suite's CSPRNG and its public key. Throws what Suite throws.
template <class Suite>
ed25519_keypair suite_generate_ed25519()
{
    secret_bytes<ed25519_seed_size> seed;
    Suite::random_bytes(seed.span());
    return Suite::ed25519_from_seed(seed.span());
}

/// Throws std::invalid_argument for an HKDF-Expand output longer than 255 * 32 bytes (RFC 5869).
inline void suite_check_hkdf_output(std::size_t size)
{
    if (size > hkdf_sha256_max_output)
        throw std::invalid_argument("tlvcast: HKDF-Expand output longer than 255 * 32 bytes");
}

/// The data of `s`, or a valid pointer for an empty span: empty spans may carry a null pointer, and
/// the libraries get a valid one with length 0 instead.
inline const std::byte* suite_data_or_dummy(std::span<const std::byte> s) noexcept
{
    static constexpr std::byte dummy{};
    return s.empty() ? &dummy : s.data();
}

} // namespace tlvcast::crypto::detail
