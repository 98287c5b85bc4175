// SPDX-License-Identifier: BSL-1.0
// Crypto++ suite policy: X25519 and Ed25519 (xed25519.h), SHA-256, HMAC, HKDF and the OS CSPRNG.
#pragma once

#if !defined(TLVCAST_HAS_CRYPTOPP)
#error "tlvcast/crypto/cryptopp_suite.hpp needs Crypto++: configure with TLVCAST_WITH_CRYPTOPP=ON (it defines TLVCAST_HAS_CRYPTOPP)"
#endif

#include <tlvcast/crypto/detail/bytes.hpp>
#include <tlvcast/crypto/detail/ed25519_checks.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>

#include <cryptopp/cryptlib.h>
#include <cryptopp/hmac.h>
#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>
#include <cryptopp/xed25519.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// The `suite` concept on Crypto++. Static functions only; each call builds its own Crypto++ objects,
/// so every function is thread-safe. Crypto++ keeps keys in SecBlocks, which wipe themselves.
/// Exceptions: see the concept (set-up failures only).
struct cryptopp_suite {
    static constexpr std::string_view name = "Crypto++";

    /// X25519(priv, peer_pub) into `shared`. Returns false with errc::handshake_failed (shared zeroed)
    /// when the peer key has low order (all-zero result). Never throws.
    static bool x25519(std::span<const std::byte, x25519_key_size> priv,
                       std::span<const std::byte, x25519_key_size> peer_public,
                       std::span<std::byte, x25519_key_size> shared, std::error_code& ec) noexcept
    {
        bool ok = false;
        try {
            const CryptoPP::x25519 dh;
            // validateOtherPublicKey=true rejects the known small-order points before multiplying.
            ok = dh.Agree(detail::u8(shared.data()), detail::u8(priv.data()), detail::u8(peer_public.data()), true);
        } catch (...) {
            ok = false;
        }
        return detail::suite_x25519_result(ok, shared, ec);
    }

    /// The public key of the RFC 8032 private key `seed` (section 5.1.5).
    static std::array<std::byte, ed25519_public_size> ed25519_public_key(std::span<const std::byte, ed25519_seed_size> seed)
    {
        const CryptoPP::ed25519Signer signer(detail::u8(seed.data()));
        const auto& key = static_cast<const CryptoPP::ed25519PrivateKey&>(signer.GetPrivateKey());
        std::array<std::byte, ed25519_public_size> pub{};
        std::copy_n(reinterpret_cast<const std::byte*>(key.GetPublicKeyBytePtr()), ed25519_public_size, pub.begin());
        return pub;
    }

    /// The 64-byte Ed25519 signature of `message` by the identity with private key `seed` (deterministic).
    static void sign(std::span<const std::byte, ed25519_seed_size> seed, std::span<const std::byte> message,
                     std::span<std::byte, ed25519_signature_size> signature)
    {
        const CryptoPP::ed25519Signer signer(detail::u8(seed.data()));
        // Ed25519 signing is deterministic (RFC 8032): NullRNG documents, and enforces, that no randomness is used.
        signer.SignMessage(CryptoPP::NullRNG(), detail::nonnull_bytes(message), message.size(),
                           detail::u8(signature.data()));
    }

    /// True when `signature` is a valid Ed25519 signature of `message` under `public_key`, after the
    /// shared encoding check (Crypto++ alone accepts small-order keys and R, and S up to 2^253).
    /// Never throws.
    static bool verify(std::span<const std::byte, ed25519_public_size> public_key, std::span<const std::byte> message,
                       std::span<const std::byte, ed25519_signature_size> signature) noexcept
    {
        if (!detail::ed25519_signature_acceptable(public_key, signature))
            return false;
        try {
            const CryptoPP::ed25519Verifier verifier(detail::u8(public_key.data()));
            return verifier.VerifyMessage(detail::nonnull_bytes(message), message.size(), detail::u8(signature.data()),
                                          signature.size());
        } catch (...) {
            return false;
        }
    }

    static sha256_digest sha256(std::span<const std::byte> data)
    {
        sha256_digest d;
        CryptoPP::SHA256().CalculateDigest(detail::u8(d.data()), detail::nonnull_bytes(data), data.size());
        return d;
    }

    /// HMAC-SHA256(key, data) (RFC 2104); any key length. The HMAC object wipes its key copy.
    static sha256_digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data)
    {
        sha256_digest d;
        CryptoPP::HMAC<CryptoPP::SHA256> mac(detail::nonnull_bytes(key), key.size());
        mac.CalculateDigest(detail::u8(d.data()), detail::nonnull_bytes(data), data.size());
        return d;
    }

    /// HKDF-Extract(salt, ikm) = HMAC-SHA256(salt, ikm) (RFC 5869 section 2.2) into wiped memory. An
    /// empty salt acts as 32 zero bytes, as the RFC specifies (HMAC pads keys with zeros).
    static secret_bytes<sha256_size> hkdf_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm)
    {
        secret_bytes<sha256_size> prk;
        CryptoPP::HMAC<CryptoPP::SHA256> mac(detail::nonnull_bytes(salt), salt.size());
        mac.CalculateDigest(detail::u8(prk.span().data()), detail::nonnull_bytes(ikm), ikm.size());
        return prk;
    }

    /// HKDF-Expand(prk, info, L = okm.size()) (RFC 5869 section 2.3). Crypto++'s HKDF class only does
    /// extract-then-expand in one call, so the expand loop is written out on its HMAC; T(i) is wiped.
    /// Throws std::invalid_argument when okm.size() > 8160.
    static void hkdf_expand(std::span<const std::byte, sha256_size> prk, std::span<const std::byte> info,
                            std::span<std::byte> okm)
    {
        detail::suite_check_hkdf_output(okm.size());
        CryptoPP::HMAC<CryptoPP::SHA256> mac(detail::u8(prk.data()), prk.size());
        secret_bytes<sha256_size> t;
        std::size_t done = 0;
        for (unsigned counter = 1; done < okm.size(); ++counter) {
            // T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty.
            if (counter > 1)
                mac.Update(detail::u8(t.span().data()), t.size());
            mac.Update(detail::nonnull_bytes(info), info.size());
            const auto c = static_cast<CryptoPP::byte>(counter);
            mac.Update(&c, 1);
            mac.Final(detail::u8(t.span().data()));
            const std::size_t n = std::min(t.size(), okm.size() - done);
            std::copy_n(t.span().begin(), n, okm.begin() + static_cast<std::ptrdiff_t>(done));
            done += n;
        }
    }

    /// Fills `out` from the operating system's CSPRNG (getrandom / /dev/urandom). Throws
    /// CryptoPP::OS_RNG_Err if the OS cannot provide randomness.
    static void random_bytes(std::span<std::byte> out)
    {
        if (!out.empty())
            CryptoPP::OS_GenerateRandomBlock(false, detail::u8(out.data()), out.size());
    }
};

static_assert(suite<cryptopp_suite>, "cryptopp_suite must model tlvcast::crypto::suite");

} // namespace tlvcast::crypto
