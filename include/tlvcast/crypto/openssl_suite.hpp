// OpenSSL 3 suite policy: X25519 and Ed25519 (EVP_PKEY), SHA-256 (EVP_MD), HMAC (EVP_MAC), HKDF (EVP_KDF), RAND_bytes.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/openssl_suite.hpp needs OpenSSL 3: link tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <tlvcast/crypto/detail/ossl_ptr.hpp>
#include <tlvcast/crypto/detail/suite_common.hpp>
#include <tlvcast/crypto/detail/suite_key_file.hpp>
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
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// The `suite` concept on OpenSSL 3. Static functions only; each call makes its own EVP contexts (the
/// fetched algorithms are shared, read-only, as OpenSSL allows), so every function is thread-safe.
/// Exceptions: std::runtime_error when OpenSSL fails in a way no input can cause (allocation, a
/// missing provider); key-file errors as the `suite` concept says.
struct openssl_suite {
    static constexpr std::string_view name = "OpenSSL";

    /// A fresh X25519 key pair from RAND_bytes.
    static x25519_keypair generate_x25519()
    {
        x25519_keypair kp;
        random_bytes(kp.private_key.span());
        detail::ossl_pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(kp.private_key.span().data()),
                                                           x25519_key_size));
        std::size_t n = kp.public_key.size();
        if (!key || EVP_PKEY_get_raw_public_key(key.get(), u8(kp.public_key.data()), &n) != 1 || n != x25519_key_size)
            fail("X25519 key generation");
        return kp;
    }

    /// X25519(priv, peer_pub) into `shared`. Returns false with errc::handshake_failed (shared zeroed)
    /// when the peer key has low order (all-zero result) or OpenSSL refuses it. Never throws.
    static bool x25519(std::span<const std::byte, x25519_key_size> priv,
                       std::span<const std::byte, x25519_key_size> peer_public,
                       std::span<std::byte, x25519_key_size> shared, std::error_code& ec) noexcept
    {
        detail::ossl_pkey mine(EVP_PKEY_new_raw_private_key(EVP_PKEY_X25519, nullptr, u8(priv.data()), priv.size()));
        detail::ossl_pkey peer(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_X25519, nullptr, u8(peer_public.data()), peer_public.size()));
        bool ok = mine && peer;
        detail::ossl_pkey_ctx ctx(ok ? EVP_PKEY_CTX_new_from_pkey(nullptr, mine.get(), nullptr) : nullptr);
        std::size_t n = shared.size();
        ok = ok && ctx && EVP_PKEY_derive_init(ctx.get()) == 1 && EVP_PKEY_derive_set_peer(ctx.get(), peer.get()) == 1 &&
             EVP_PKEY_derive(ctx.get(), u8(shared.data()), &n) == 1 && n == shared.size();
        // OpenSSL already refuses an all-zero result; checking here too keeps both backends equal by contract.
        const bool agreed = detail::suite_x25519_result(ok, shared, ec);
        if (!agreed)
            ERR_clear_error();
        return agreed;
    }

    /// A fresh Ed25519 identity: a random seed and its public key.
    static ed25519_keypair generate_ed25519() { return detail::suite_generate_ed25519<openssl_suite>(); }

    /// The identity whose private key is `seed` (RFC 8032 section 5.1.5).
    static ed25519_keypair ed25519_from_seed(std::span<const std::byte, ed25519_seed_size> seed)
    {
        ed25519_keypair kp;
        kp.private_key = secret_bytes<ed25519_seed_size>(seed);
        const auto key = ed25519_private(seed);
        std::size_t n = kp.public_key.size();
        if (EVP_PKEY_get_raw_public_key(key.get(), u8(kp.public_key.data()), &n) != 1 || n != ed25519_public_size)
            fail("Ed25519 public key derivation");
        return kp;
    }

    /// The 64-byte Ed25519 signature of `message` by the identity with private key `seed` (deterministic).
    static void sign(std::span<const std::byte, ed25519_seed_size> seed, std::span<const std::byte> message,
                     std::span<std::byte, ed25519_signature_size> signature)
    {
        const auto key = ed25519_private(seed);
        detail::ossl_md_ctx ctx(EVP_MD_CTX_new());
        std::size_t n = signature.size();
        // Ed25519 is "pure" EdDSA: no digest name, and only the one-shot EVP_DigestSign is allowed.
        if (!ctx || EVP_DigestSignInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) != 1 ||
            EVP_DigestSign(ctx.get(), u8(signature.data()), &n, u8(data_or_dummy(message)), message.size()) != 1 ||
            n != ed25519_signature_size)
            fail("Ed25519 signing");
    }

    /// True when `signature` is a valid Ed25519 signature of `message` under `public_key`. Never throws.
    static bool verify(std::span<const std::byte, ed25519_public_size> public_key, std::span<const std::byte> message,
                       std::span<const std::byte, ed25519_signature_size> signature) noexcept
    {
        detail::ossl_pkey key(
            EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, nullptr, u8(public_key.data()), public_key.size()));
        detail::ossl_md_ctx ctx(key ? EVP_MD_CTX_new() : nullptr);
        const bool ok =
            ctx && EVP_DigestVerifyInit_ex(ctx.get(), nullptr, nullptr, nullptr, nullptr, key.get(), nullptr) == 1 &&
            EVP_DigestVerify(ctx.get(), u8(signature.data()), signature.size(), u8(data_or_dummy(message)),
                             message.size()) == 1;
        if (!ok)
            ERR_clear_error(); // a forged signature is ordinary traffic: leave no error on the thread's queue
        return ok;
    }

    /// Writes the identity file (PEM PKCS#8, mode 0600, created exclusively); see the `suite` concept.
    static void save_ed25519(const std::filesystem::path& path, const ed25519_keypair& identity)
    {
        detail::suite_save_ed25519(path, identity.private_key.span(), [](auto der, auto out) {
            // EVP_EncodeBlock writes a terminating NUL after the 64 characters.
            std::array<unsigned char, detail::pkcs8_ed25519_base64_size + 1> b64{};
            if (EVP_EncodeBlock(b64.data(), der.data(), static_cast<int>(der.size())) != static_cast<int>(out.size()))
                throw std::logic_error("tlvcast: unexpected base64 length");
            std::copy_n(b64.begin(), out.size(), reinterpret_cast<unsigned char*>(out.data()));
            detail::suite_wipe(b64.data(), b64.size());
        });
    }

    /// Reads an identity file written by save_ed25519 (or `openssl genpkey -algorithm ed25519`).
    static ed25519_keypair load_ed25519(const std::filesystem::path& path)
    {
        const auto seed = detail::suite_load_ed25519(path, [](auto b64, auto der) {
            // 64 characters without padding decode to exactly 48 bytes; EVP_DecodeBlock returns -1 on a
            // character outside the alphabet.
            return EVP_DecodeBlock(der.data(), reinterpret_cast<const unsigned char*>(b64.data()),
                                   static_cast<int>(b64.size())) == static_cast<int>(der.size());
        });
        return ed25519_from_seed(seed.span());
    }

    /// SHA-256 of the 32-byte public key: the identity's fingerprint.
    static sha256_digest fingerprint(std::span<const std::byte, ed25519_public_size> public_key)
    {
        return sha256(public_key);
    }

    static sha256_digest sha256(std::span<const std::byte> data)
    {
        sha256_digest d;
        unsigned n = 0;
        if (EVP_Digest(data_or_dummy(data), data.size(), u8(d.data()), &n, sha256_md(), nullptr) != 1 || n != d.size())
            fail("SHA-256");
        return d;
    }

    /// HMAC-SHA256(key, data) (RFC 2104) through EVP_MAC; any key length.
    static sha256_digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data)
    {
        detail::ossl_mac_ctx ctx(EVP_MAC_CTX_new(hmac_mac()));
        char digest[] = "SHA256";
        const OSSL_PARAM params[] = {OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
                                     OSSL_PARAM_construct_end()};
        sha256_digest d;
        std::size_t n = 0;
        // A non-null key pointer even for an empty key: a null one means "keep the previous key" to OpenSSL.
        if (!ctx || EVP_MAC_init(ctx.get(), u8(data_or_dummy(key)), key.size(), params) != 1 ||
            EVP_MAC_update(ctx.get(), u8(data_or_dummy(data)), data.size()) != 1 ||
            EVP_MAC_final(ctx.get(), u8(d.data()), &n, d.size()) != 1 || n != d.size())
            fail("HMAC-SHA256");
        return d;
    }

    /// HKDF-Extract(salt, ikm) (RFC 5869 section 2.2) through EVP_KDF "HKDF" in EXTRACT_ONLY mode.
    static sha256_digest hkdf_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm)
    {
        sha256_digest prk;
        hkdf(EVP_KDF_HKDF_MODE_EXTRACT_ONLY, ikm, salt, {}, prk);
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
            if (RAND_bytes(u8(out.data()), static_cast<int>(n)) != 1)
                fail("RAND_bytes");
            out = out.subspan(n);
        }
    }

private:
    static const unsigned char* u8(const std::byte* p) noexcept { return reinterpret_cast<const unsigned char*>(p); }
    static unsigned char* u8(std::byte* p) noexcept { return reinterpret_cast<unsigned char*>(p); }
    static const std::byte* data_or_dummy(std::span<const std::byte> s) noexcept { return detail::suite_data_or_dummy(s); }

    [[noreturn]] static void fail(const char* what)
    {
        ERR_clear_error();
        throw std::runtime_error(std::string("tlvcast: OpenSSL failed: ") + what);
    }

    static detail::ossl_pkey ed25519_private(std::span<const std::byte, ed25519_seed_size> seed)
    {
        detail::ossl_pkey key(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, u8(seed.data()), seed.size()));
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
        detail::ossl_kdf_ctx ctx(EVP_KDF_CTX_new(hkdf_kdf()));
        char digest[] = "SHA256";
        std::array<OSSL_PARAM, 6> params{};
        std::size_t i = 0;
        params[i++] = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST, digest, 0);
        params[i++] = OSSL_PARAM_construct_int(OSSL_KDF_PARAM_MODE, &mode);
        // OpenSSL's HKDF wants a key even when it is empty; an empty salt means HashLen zeros (RFC 5869).
        params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, const_cast<std::byte*>(data_or_dummy(key)),
                                                        key.size());
        if (!salt.empty())
            params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, const_cast<std::byte*>(salt.data()),
                                                            salt.size());
        if (!info.empty())
            params[i++] = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, const_cast<std::byte*>(info.data()),
                                                            info.size());
        params[i] = OSSL_PARAM_construct_end();
        if (!ctx || EVP_KDF_derive(ctx.get(), u8(out.data()), out.size(), params.data()) != 1)
            fail("HKDF");
    }
};

static_assert(suite<openssl_suite>, "openssl_suite must model tlvcast::crypto::suite");

} // namespace tlvcast::crypto
