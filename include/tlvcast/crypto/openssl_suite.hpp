// SPDX-License-Identifier: BSL-1.0
// OpenSSL 3 suite policy: X25519 and Ed25519 (EVP_PKEY), SHA-256 (EVP_MD), HMAC (EVP_MAC), HKDF (EVP_KDF), RAND_bytes.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/openssl_suite.hpp needs OpenSSL 3: link tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <tlvcast/crypto/detail/bytes.hpp>
#include <tlvcast/crypto/detail/ed25519_checks.hpp>
#include <tlvcast/crypto/detail/openssl_handles.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>

#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// The `suite` concept on OpenSSL 3. Static functions only; each call makes its own EVP contexts (the
/// fetched algorithms are shared, read-only, as OpenSSL allows), so every function is thread-safe.
/// Exceptions: std::runtime_error when OpenSSL fails in a way no input can cause (allocation, a
/// missing provider).
struct openssl_suite {
    static constexpr std::string_view name = "OpenSSL";

    /// X25519(priv, peer_pub) into `shared`. Returns false with errc::handshake_failed (shared zeroed)
    /// when the peer key has low order (all-zero result) or OpenSSL refuses it. Never throws.
    static bool x25519(std::span<const std::byte, x25519_key_size> priv,
                       std::span<const std::byte, x25519_key_size> peer_public,
                       std::span<std::byte, x25519_key_size> shared, std::error_code& ec) noexcept
    {
        detail::openssl_pkey_ptr mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, detail::u8(priv.data()), priv.size()));
        detail::openssl_pkey_ptr peer(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, detail::u8(peer_public.data()), peer_public.size()));
        bool ok = mine && peer;
        detail::openssl_pkey_ctx_ptr ctx(ok ? EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr) : nullptr);
        std::size_t n = shared.size();
        ok = ok && ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
             EVP_PKEY_derive(ctx.get(), detail::u8(shared.data()), &n) == 1 && n == shared.size();
        // OpenSSL already refuses an all-zero result; checking here too keeps both backends equal by contract.
        const bool agreed = detail::suite_x25519_result(ok, shared, ec);
        if (!agreed)
            ERR_clear_error();
        return agreed;
    }

    /// The public key of the RFC 8032 private key `seed` (section 5.1.5).
    static std::array<std::byte, ed25519_public_size> ed25519_public_key(std::span<const std::byte, ed25519_seed_size> seed)
    {
        const auto key = ed25519_private(seed);
        std::array<std::byte, ed25519_public_size> pub{};
        std::size_t n = pub.size();
        if (EVP_PKEY_get_raw_public_key(key.get(), detail::u8(pub.data()), &n) != 1 || n != ed25519_public_size)
            fail("Ed25519 public key derivation");
        return pub;
    }

    /// The 64-byte Ed25519 signature of `message` by the identity with private key `seed` (deterministic).
    static void sign(std::span<const std::byte, ed25519_seed_size> seed, std::span<const std::byte> message,
                     std::span<std::byte, ed25519_signature_size> signature)
    {
        const auto key = ed25519_private(seed);
        detail::openssl_md_ctx_ptr ctx(EVP_MD_CTX_new());
        std::size_t n = signature.size();
        // Ed25519 is "pure" EdDSA: no digest name, and only the one-shot EVP_DigestSign is allowed.
        if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) != 1 ||
            EVP_DigestSign(ctx.get(), detail::u8(signature.data()), &n, detail::nonnull_bytes(message), message.size()) != 1 ||
            n != ed25519_signature_size)
            fail("Ed25519 signing");
    }

    /// True when `signature` is a valid Ed25519 signature of `message` under `public_key`, after the
    /// shared encoding check (OpenSSL alone accepts small-order keys and R). Never throws.
    static bool verify(std::span<const std::byte, ed25519_public_size> public_key, std::span<const std::byte> message,
                       std::span<const std::byte, ed25519_signature_size> signature) noexcept
    {
        if (!detail::ed25519_signature_acceptable(public_key, signature))
            return false;
        detail::openssl_pkey_ptr key(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, detail::u8(public_key.data()), public_key.size()));
        detail::openssl_md_ctx_ptr ctx(key ? EVP_MD_CTX_new() : nullptr);
        const bool ok =
            ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), detail::u8(signature.data()), signature.size(), detail::nonnull_bytes(message),
                             message.size()) == 1;
        if (!ok)
            ERR_clear_error(); // a forged signature is ordinary traffic: leave no error on the thread's queue
        return ok;
    }

    static sha256_digest sha256(std::span<const std::byte> data)
    {
        sha256_digest d;
        unsigned n = 0;
        if (EVP_Digest(detail::nonnull_bytes(data), data.size(), detail::u8(d.data()), &n, sha256_md(), nullptr) != 1 || n != d.size())
            fail("SHA-256");
        return d;
    }

    /// HMAC-SHA256(key, data) (RFC 2104) through EVP_MAC; any key length.
    static sha256_digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data)
    {
        detail::openssl_mac_ctx_ptr ctx(EVP_MAC_CTX_new(hmac_mac()));
        char digest[] = "SHA256";
        const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                     OSSL_PARAM_construct_end()};
        sha256_digest d;
        std::size_t n = 0;
        // A non-null key pointer even for an empty key: a null one means "keep the previous key" to OpenSSL.
        if (!ctx || EVP_MAC_init(ctx.get(), detail::nonnull_bytes(key), key.size(), params) != 1 ||
            EVP_MAC_update(ctx.get(), detail::nonnull_bytes(data), data.size()) != 1 ||
            EVP_MAC_final(ctx.get(), detail::u8(d.data()), &n, d.size()) != 1 || n != d.size())
            fail("HMAC-SHA256");
        return d;
    }

    /// HKDF-Extract(salt, ikm) (RFC 5869 section 2.2) through EVP_KDF "HKDF" in EXTRACT_ONLY mode,
    /// into wiped memory (EVP_KDF_CTX_free cleanses OpenSSL's copies of the key and salt).
    static secret_bytes<sha256_size> hkdf_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm)
    {
        secret_bytes<sha256_size> prk;
        hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk.span());
        return prk;
    }

    /// HKDF-Expand(prk, info, L = okm.size()) (RFC 5869 section 2.3) through EVP_KDF "HKDF" in
    /// EXPAND_ONLY mode. Throws std::invalid_argument when okm.size() > 8160.
    static void hkdf_expand(std::span<const std::byte, sha256_size> prk, std::span<const std::byte> info,
                            std::span<std::byte> okm)
    {
        detail::suite_check_hkdf_output(okm.size());
        if (!okm.empty())
            hkdf(EVP_KDF_HKDF_MODE_EXPAND_ONLY, prk, {}, info, okm);
    }

    /// Fills `out` from OpenSSL's CSPRNG (RAND_bytes). Throws std::runtime_error if it cannot.
    static void random_bytes(std::span<std::byte> out)
    {
        while (!out.empty()) {
            const std::size_t n = std::min<std::size_t>(out.size(), INT_MAX);
            if (RAND_bytes(detail::u8(out.data()), static_cast<int>(n)) != 1)
                fail("RAND_bytes");
            out = out.subspan(n);
        }
    }

private:
    [[noreturn]] static void fail(const char* what)
    {
        ERR_clear_error();
        throw std::runtime_error(std::string("tlvcast: OpenSSL failed: ") + what);
    }

    static detail::openssl_pkey_ptr ed25519_private(std::span<const std::byte, ed25519_seed_size> seed)
    {
        detail::openssl_pkey_ptr key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, detail::u8(seed.data()), seed.size()));
        if (!key)
            fail("Ed25519 key import");
        return key;
    }

    // Fetched once per process (thread-safe static initialisation) and deliberately never freed: a
    // fetch per call costs a provider lookup, and the objects must outlive every thread that uses them.
    static const EVP_MD* sha256_md()
    {
        static EVP_MD* md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
        if (!md)
            fail("fetching SHA256");
        return md;
    }
    static EVP_MAC* hmac_mac()
    {
        static EVP_MAC* mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
        if (!mac)
            fail("fetching HMAC");
        return mac;
    }
    static EVP_KDF* hkdf_kdf()
    {
        static EVP_KDF* kdf = EVP_KDF_fetch(nullptr, "HKDF", nullptr);
        if (!kdf)
            fail("fetching HKDF");
        return kdf;
    }

    static void hkdf(int mode, std::span<const std::byte> key, std::span<const std::byte> salt,
                     std::span<const std::byte> info, std::span<std::byte> out)
    {
        detail::openssl_kdf_ctx_ptr ctx(EVP_KDF_CTX_new(hkdf_kdf()));
        char digest[] = "SHA256";
        std::array<OSSL_PARAM, 6> params{};
        std::size_t i = 0;
        params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
        params[i++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
        // OpenSSL's HKDF wants a key even when it is empty; an empty salt means HashLen zeros (RFC 5869).
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<unsigned char*>(detail::nonnull_bytes(key)),
                                                        key.size());
        if (!salt.empty())
            params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::byte*>(salt.data()),
                                                            salt.size());
        if (!info.empty())
            params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::byte*>(info.data()),
                                                            info.size());
        params[i] = OSSL_PARAM_construct_end();
        if (!ctx || EVP_KDF_derive(ctx.get(), detail::u8(out.data()), out.size(), params.data()) != 1)
            fail("HKDF");
    }
};

static_assert(suite<openssl_suite>, "openssl_suite must model tlvcast::crypto::suite");

} // namespace tlvcast::crypto
