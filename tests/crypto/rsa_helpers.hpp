// SPDX-License-Identifier: BSL-1.0
// Helpers shared by the RSA backend tests: two keys per backend, checked encryption, refused imports.
#pragma once

#include "crypto/helpers.hpp"

#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/error.hpp>

#include <catch2/catch.hpp>

#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::crypto::test {

// Key generation costs up to a second under sanitizers: all tests of a backend share two keys.
template <rsa_backend B>
const typename B::private_key& key_a()
{
    static const typename B::private_key k = B::generate(2048);
    return k;
}
template <rsa_backend B>
const typename B::private_key& key_b()
{
    static const typename B::private_key k = B::generate(2048);
    return k;
}

/// Encrypts `plain` under `pub` and requires success; returns the modulus-sized ciphertext.
template <rsa_backend B>
std::vector<std::byte> encrypt_ok(const typename B::public_key& pub, std::span<const std::byte> plain)
{
    std::vector<std::byte> c(B::modulus_bytes(pub));
    std::error_code ec;
    B::encrypt(pub, plain, c, ec);
    REQUIRE_FALSE(ec);
    return c;
}

/// Checks that B refuses `pem` as a public key, and that the empty key it returns instead is refused
/// by every operation rather than crashing.
template <rsa_backend B>
void check_import_refused(std::string_view pem)
{
    std::error_code ec;
    const auto key = B::import_public_pem(as_bytes(pem), ec);
    CHECK(ec == errc::bad_key);
    CHECK_FALSE(key);
    std::vector<std::byte> out(256);
    B::encrypt(key, pattern(1, 1), out, ec);
    CHECK(ec == errc::bad_key);
    CHECK(B::modulus_bytes(key) == 0);
    CHECK(B::export_public_pem(key).empty());
}

} // namespace tlvcast::crypto::test
