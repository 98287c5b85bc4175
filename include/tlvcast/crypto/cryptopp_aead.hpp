// SPDX-License-Identifier: BSL-1.0
// Crypto++ AEAD policies: AES-256-GCM and ChaCha20-Poly1305 (RFC 8439), keyed once, no throw on the hot path.
#pragma once

#if !defined(TLVCAST_HAS_CRYPTOPP)
#error "tlvcast/crypto/cryptopp_aead.hpp needs Crypto++: configure with TLVCAST_WITH_CRYPTOPP=ON (it defines TLVCAST_HAS_CRYPTOPP)"
#endif

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/detail/aead_checks.hpp>
#include <tlvcast/error.hpp>

#include <cryptopp/aes.h>
#include <cryptopp/chachapoly.h>
#include <cryptopp/gcm.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

namespace detail {
struct cryptopp_gcm_traits {
    using encryption = CryptoPP::GCM<CryptoPP::AES>::Encryption;
    using decryption = CryptoPP::GCM<CryptoPP::AES>::Decryption;
    static constexpr aead_id id = aead_id::aes_256_gcm;
    static constexpr std::string_view name = "AES-256-GCM";
};
struct cryptopp_chacha_traits {
    // ChaCha20Poly1305 is the IETF construction (RFC 8439, 96-bit nonce); XChaCha20Poly1305 is not.
    using encryption = CryptoPP::ChaCha20Poly1305::Encryption;
    using decryption = CryptoPP::ChaCha20Poly1305::Decryption;
    static constexpr aead_id id = aead_id::chacha20_poly1305;
    static constexpr std::string_view name = "ChaCha20-Poly1305";
};
} // namespace detail

/// An AEAD (see the `aead` concept) on Crypto++. The key schedule is computed once in the constructor
/// and lives in Crypto++'s SecBlocks, which wipe it on destruction; seal/open only resynchronise the
/// nonce. Movable, not copyable; a moved-from object only reports errc::bad_key.
/// Not thread-safe: use one object per session direction per thread.
template <class Traits>
class basic_cryptopp_aead {
public:
    static constexpr std::size_t key_size = aead_key_size;
    static constexpr std::size_t nonce_size = aead_nonce_size;
    static constexpr std::size_t tag_size = aead_tag_size;
    static constexpr aead_id id = Traits::id;
    static constexpr std::string_view name = Traits::name;
    static constexpr std::uint64_t max_records_per_key = aead_limits<id>::max_records_per_key;
    static constexpr std::uint64_t max_failed_opens_per_key = aead_limits<id>::max_failed_opens_per_key;

    /// Keys both directions. Throws only what Crypto++ throws on set-up (never for a 32-byte key).
    explicit basic_cryptopp_aead(std::span<const std::byte, key_size> key) : state_(std::make_unique<state>())
    {
        // Crypto++ wants an IV with the key; the real nonce is set per record by seal/open.
        const std::array<CryptoPP::byte, nonce_size> zero_iv{};
        state_->enc.SetKeyWithIV(bytes(key.data()), key.size(), zero_iv.data(), zero_iv.size());
        state_->dec.SetKeyWithIV(bytes(key.data()), key.size(), zero_iv.data(), zero_iv.size());
    }

    /// Writes ciphertext || tag (plaintext.size() + 16 bytes) to the front of `out`.
    /// Errors: buffer_too_small, message_too_large; bad_key for a moved-from object. Never throws.
    void seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
              std::span<const std::byte> plaintext, std::span<std::byte> out, std::error_code& ec) noexcept
    {
        if (!detail::aead_check_seal(state_ != nullptr, aad.size(), plaintext.size(), out.size(), ec))
            return;
        try {
            state_->enc.EncryptAndAuthenticate(bytes(out.data()), bytes(out.data() + plaintext.size()), tag_size,
                                               bytes(nonce.data()), static_cast<int>(nonce_size), bytes(aad.data()),
                                               aad.size(), bytes(plaintext.data()), plaintext.size());
        } catch (...) {
            // Unreachable with the checks above; kept so that no Crypto++ exception crosses noexcept.
            ec = errc::bad_key;
            return;
        }
        ec.clear();
    }

    /// Authenticates and decrypts ciphertext || tag into `out`; returns the plaintext length.
    /// Errors: malformed (shorter than a tag), message_too_large, buffer_too_small,
    /// authentication_failed (the bytes written to `out` are zeroed; returns 0). Never throws.
    std::size_t open(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
                     std::span<const std::byte> sealed, std::span<std::byte> out, std::error_code& ec) noexcept
    {
        if (!detail::aead_check_open(state_ != nullptr, aad.size(), sealed.size(), out.size(), ec))
            return 0;
        const std::size_t length = sealed.size() - tag_size;
        // The tag is copied first: with in-place decryption `out` overwrites the ciphertext, not the tag,
        // but a copy keeps this correct for any legal aliasing.
        std::array<CryptoPP::byte, tag_size> tag;
        std::copy_n(bytes(sealed.data() + length), tag_size, tag.begin());
        bool ok = false;
        try {
            ok = state_->dec.DecryptAndVerify(bytes(out.data()), tag.data(), tag_size, bytes(nonce.data()),
                                              static_cast<int>(nonce_size), bytes(aad.data()), aad.size(),
                                              bytes(sealed.data()), length);
        } catch (...) {
            ok = false;
        }
        if (!ok) {
            // Never leave unauthenticated plaintext where a careless caller could read it.
            std::fill_n(out.data(), length, std::byte{0});
            ec = errc::authentication_failed;
            return 0;
        }
        ec.clear();
        return length;
    }

private:
    struct state {
        typename Traits::encryption enc;
        typename Traits::decryption dec;
    };

    static const CryptoPP::byte* bytes(const std::byte* p) noexcept { return reinterpret_cast<const CryptoPP::byte*>(p); }
    static CryptoPP::byte* bytes(std::byte* p) noexcept { return reinterpret_cast<CryptoPP::byte*>(p); }

    // On the heap so that the policy is movable (Crypto++ cipher objects are not).
    std::unique_ptr<state> state_;
};

/// AES-256-GCM on Crypto++ (AES-NI and CLMUL when the CPU has them).
using cryptopp_aes256_gcm = basic_cryptopp_aead<detail::cryptopp_gcm_traits>;
/// ChaCha20-Poly1305 (RFC 8439) on Crypto++.
using cryptopp_chacha20_poly1305 = basic_cryptopp_aead<detail::cryptopp_chacha_traits>;

static_assert(aead<cryptopp_aes256_gcm>, "cryptopp_aes256_gcm must model tlvcast::crypto::aead");
static_assert(aead<cryptopp_chacha20_poly1305>, "cryptopp_chacha20_poly1305 must model tlvcast::crypto::aead");

} // namespace tlvcast::crypto
