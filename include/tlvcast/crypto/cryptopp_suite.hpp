// Crypto++ suite policy: X25519 and Ed25519 (xed25519.h), SHA-256, HMAC, HKDF and the OS CSPRNG.
#pragma once

#include <tlvcast/crypto/detail/suite_common.hpp>
#include <tlvcast/crypto/detail/suite_key_file.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>

#include <cryptopp/base64.h>
#include <cryptopp/cryptlib.h>
#include <cryptopp/hmac.h>
#include <cryptopp/osrng.h>
#include <cryptopp/sha.h>
#include <cryptopp/xed25519.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <span>
#include <stdexcept>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

/// The `suite` concept on Crypto++. Static functions only; each call builds its own Crypto++ objects,
/// so every function is thread-safe. Exceptions: see the concept (set-up failures only).
struct cryptopp_suite {
    static constexpr std::string_view name = "Crypto++";

    /// A fresh X25519 key pair from the operating system's CSPRNG.
    static x25519_keypair generate_x25519()
    {
        x25519_keypair kp;
        random_bytes(kp.private_key.span());
        CryptoPP::x25519 dh;
        // GeneratePublicKey is X25519(priv, 9) and takes no randomness; NullRNG would throw if it did.
        dh.GeneratePublicKey(CryptoPP::NullRNG(), u8(kp.private_key.span().data()), u8(kp.public_key.data()));
        return kp;
    }

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
            ok = dh.Agree(u8(shared.data()), u8(priv.data()), u8(peer_public.data()), true);
        } catch (...) {
            ok = false;
        }
        return detail::suite_x25519_result(ok, shared, ec);
    }

    /// A fresh Ed25519 identity: a random seed and its public key.
    static ed25519_keypair generate_ed25519() { return detail::suite_generate_ed25519<cryptopp_suite>(); }

    /// The identity whose private key is `seed` (RFC 8032 section 5.1.5).
    static ed25519_keypair ed25519_from_seed(std::span<const std::byte, ed25519_seed_size> seed)
    {
        const CryptoPP::ed25519Signer signer(u8(seed.data()));
        const auto& key = static_cast<const CryptoPP::ed25519PrivateKey&>(signer.GetPrivateKey());
        ed25519_keypair kp;
        kp.private_key = secret_bytes<ed25519_seed_size>(seed);
        std::copy_n(reinterpret_cast<const std::byte*>(key.GetPublicKeyBytePtr()), ed25519_public_size,
                    kp.public_key.begin());
        return kp;
    }

    /// The 64-byte Ed25519 signature of `message` by the identity with private key `seed` (deterministic).
    static void sign(std::span<const std::byte, ed25519_seed_size> seed, std::span<const std::byte> message,
                     std::span<std::byte, ed25519_signature_size> signature)
    {
        const CryptoPP::ed25519Signer signer(u8(seed.data()));
        // Ed25519 signing is deterministic (RFC 8032): NullRNG documents, and enforces, that no randomness is used.
        signer.SignMessage(CryptoPP::NullRNG(), u8(data_or_dummy(message)), message.size(), u8(signature.data()));
    }

    /// True when `signature` is a valid Ed25519 signature of `message` under `public_key`. Never throws.
    static bool verify(std::span<const std::byte, ed25519_public_size> public_key, std::span<const std::byte> message,
                       std::span<const std::byte, ed25519_signature_size> signature) noexcept
    {
        try {
            const CryptoPP::ed25519Verifier verifier(u8(public_key.data()));
            return verifier.VerifyMessage(u8(data_or_dummy(message)), message.size(), u8(signature.data()),
                                          signature.size());
        } catch (...) {
            return false;
        }
    }

    /// Writes the identity file (PEM PKCS#8, mode 0600, created exclusively); see the `suite` concept.
    static void save_ed25519(const std::filesystem::path& path, const ed25519_keypair& identity)
    {
        detail::suite_save_ed25519(path, identity.private_key.span(), [](auto der, auto out) {
            CryptoPP::Base64Encoder encoder(nullptr, false); // one line, no line breaks
            encoder.Put(der.data(), der.size());
            encoder.MessageEnd();
            if (encoder.MaxRetrievable() != out.size())
                throw std::logic_error("tlvcast: unexpected base64 length");
            encoder.Get(reinterpret_cast<CryptoPP::byte*>(out.data()), out.size());
        });
    }

    /// Reads an identity file written by save_ed25519 (or `openssl genpkey -algorithm ed25519`).
    static ed25519_keypair load_ed25519(const std::filesystem::path& path)
    {
        const auto seed = detail::suite_load_ed25519(path, [](auto b64, auto der) {
            // Crypto++'s decoder skips characters outside the alphabet; the strict length and DER prefix
            // checks of the caller still reject anything that is not exactly our structure.
            CryptoPP::Base64Decoder decoder;
            decoder.Put(reinterpret_cast<const CryptoPP::byte*>(b64.data()), b64.size());
            decoder.MessageEnd();
            if (decoder.MaxRetrievable() != der.size())
                return false;
            decoder.Get(der.data(), der.size());
            return true;
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
        CryptoPP::SHA256().CalculateDigest(u8(d.data()), u8(data_or_dummy(data)), data.size());
        return d;
    }

    /// HMAC-SHA256(key, data) (RFC 2104); any key length.
    static sha256_digest hmac_sha256(std::span<const std::byte> key, std::span<const std::byte> data)
    {
        sha256_digest d;
        CryptoPP::HMAC<CryptoPP::SHA256> mac(u8(data_or_dummy(key)), key.size());
        mac.CalculateDigest(u8(d.data()), u8(data_or_dummy(data)), data.size());
        return d;
    }

    /// HKDF-Extract(salt, ikm) = HMAC-SHA256(salt, ikm) (RFC 5869 section 2.2). An empty salt acts as
    /// 32 zero bytes, as the RFC specifies (HMAC pads keys with zeros).
    static sha256_digest hkdf_extract(std::span<const std::byte> salt, std::span<const std::byte> ikm)
    {
        return hmac_sha256(salt, ikm);
    }

    /// HKDF-Expand(prk, info, L = okm.size()) (RFC 5869 section 2.3). Crypto++'s HKDF class only does
    /// extract-then-expand in one call, so the expand loop is written out on its HMAC.
    /// Throws std::invalid_argument when okm.size() > 8160.
    static void hkdf_expand(std::span<const std::byte, sha256_size> prk, std::span<const std::byte> info,
                            std::span<std::byte> okm)
    {
        detail::suite_check_hkdf_output(okm.size());
        CryptoPP::HMAC<CryptoPP::SHA256> mac(u8(prk.data()), prk.size());
        std::array<CryptoPP::byte, sha256_size> t{};
        std::size_t done = 0;
        for (unsigned counter = 1; done < okm.size(); ++counter) {
            // T(i) = HMAC(PRK, T(i-1) | info | i), T(0) empty.
            if (counter > 1)
                mac.Update(t.data(), t.size());
            mac.Update(u8(data_or_dummy(info)), info.size());
            const auto c = static_cast<CryptoPP::byte>(counter);
            mac.Update(&c, 1);
            mac.Final(t.data());
            const std::size_t n = std::min(t.size(), okm.size() - done);
            std::copy_n(reinterpret_cast<const std::byte*>(t.data()), n, okm.begin() + static_cast<std::ptrdiff_t>(done));
            done += n;
        }
        detail::suite_wipe(t.data(), t.size());
    }

    /// Fills `out` from the operating system's CSPRNG (getrandom / /dev/urandom). Throws
    /// CryptoPP::OS_RNG_Err if the OS cannot provide randomness.
    static void random_bytes(std::span<std::byte> out)
    {
        if (!out.empty())
            CryptoPP::OS_GenerateRandomBlock(false, u8(out.data()), out.size());
    }

private:
    static const CryptoPP::byte* u8(const std::byte* p) noexcept { return reinterpret_cast<const CryptoPP::byte*>(p); }
    static CryptoPP::byte* u8(std::byte* p) noexcept { return reinterpret_cast<CryptoPP::byte*>(p); }
    static const std::byte* data_or_dummy(std::span<const std::byte> s) noexcept { return detail::suite_data_or_dummy(s); }
};

static_assert(suite<cryptopp_suite>, "cryptopp_suite must model tlvcast::crypto::suite");

} // namespace tlvcast::crypto
