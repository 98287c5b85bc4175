// SPDX-License-Identifier: BSL-1.0
// OpenSSL 3 AEAD policies: AES-256-GCM and ChaCha20-Poly1305, one keyed EVP context per direction.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/openssl_aead.hpp needs OpenSSL 3: link tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <tlvcast/crypto/aead.hpp>
#include <tlvcast/crypto/detail/aead_checks.hpp>
#include <tlvcast/crypto/detail/openssl_handles.hpp>
#include <tlvcast/error.hpp>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

namespace detail {
struct openssl_gcm_traits {
    static const EVP_CIPHER* cipher() noexcept { return EVP_aes_256_gcm(); }
    static constexpr aead_id id = aead_id::aes_256_gcm;
    static constexpr std::string_view name = "AES-256-GCM";
};
struct openssl_chacha_traits {
    static const EVP_CIPHER* cipher() noexcept { return EVP_chacha20_poly1305(); }
    static constexpr aead_id id = aead_id::chacha20_poly1305;
    static constexpr std::string_view name = "ChaCha20-Poly1305";
};
} // namespace detail

/// An AEAD (see the `aead` concept) on OpenSSL 3's EVP interface. The constructor initialises one
/// EVP_CIPHER_CTX per direction with the key (key schedule computed once); seal/open only set the
/// nonce. EVP_CIPHER_CTX_free cleanses the key material. Movable, not copyable; a moved-from object
/// only reports errc::bad_key. Not thread-safe: use one object per session direction per thread.
template <class Traits>
class basic_openssl_aead {
public:
    static constexpr std::size_t key_size = aead_key_size;
    static constexpr std::size_t nonce_size = aead_nonce_size;
    static constexpr std::size_t tag_size = aead_tag_size;
    static constexpr aead_id id = Traits::id;
    static constexpr std::string_view name = Traits::name;
    static constexpr std::uint64_t max_records_per_key = aead_limits<id>::max_records_per_key;
    static constexpr std::uint64_t max_failed_opens_per_key = aead_limits<id>::max_failed_opens_per_key;

    /// Keys both directions. Throws std::runtime_error if OpenSSL cannot set up the cipher.
    explicit basic_openssl_aead(std::span<const std::byte, key_size> key)
        : enc_(EVP_CIPHER_CTX_new()), dec_(EVP_CIPHER_CTX_new())
    {
        const auto* k = reinterpret_cast<const unsigned char*>(key.data());
        if (!enc_ || !dec_ || EVP_EncryptInit_ex2(enc_.get(), Traits::cipher(), k, nullptr, nullptr) != 1 ||
            EVP_DecryptInit_ex2(dec_.get(), Traits::cipher(), k, nullptr, nullptr) != 1)
            throw std::runtime_error("tlvcast: OpenSSL cannot initialise " + std::string(name));
    }

    /// Writes ciphertext || tag (plaintext.size() + 16 bytes) to the front of `out`.
    /// Errors: buffer_too_small, message_too_large; bad_key for a moved-from object or an OpenSSL
    /// failure (not expected once constructed). Never throws.
    void seal(std::span<const std::byte, nonce_size> nonce, std::span<const std::byte> aad,
              std::span<const std::byte> plaintext, std::span<std::byte> out, std::error_code& ec) noexcept
    {
        if (!detail::aead_check_seal(enc_ != nullptr, aad.size(), plaintext.size(), out.size(), ec))
            return;
        EVP_CIPHER_CTX* ctx = enc_.get();
        auto* o = reinterpret_cast<unsigned char*>(out.data());
        int n = 0;
        // Key stays, nonce changes: this is what makes the per-record cost a nonce set, not a key schedule.
        bool ok = EVP_EncryptInit_ex2(ctx, nullptr, nullptr, u8(nonce.data()), nullptr) == 1;
        if (ok && !aad.empty())
            ok = EVP_EncryptUpdate(ctx, nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) == 1;
        int written = 0;
        if (ok && !plaintext.empty()) {
            ok = EVP_EncryptUpdate(ctx, o, &n, u8(plaintext.data()), static_cast<int>(plaintext.size())) == 1;
            written = n;
        }
        if (ok)
            ok = EVP_EncryptFinal_ex(ctx, o + written, &n) == 1;
        if (ok)
            ok = tag_param(ctx, o + plaintext.size(), false);
        if (!ok) {
            std::fill_n(out.data(), plaintext.size() + tag_size, std::byte{0});
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
        if (!detail::aead_check_open(dec_ != nullptr, aad.size(), sealed.size(), out.size(), ec))
            return 0;
        const std::size_t length = sealed.size() - tag_size;
        EVP_CIPHER_CTX* ctx = dec_.get();
        auto* o = reinterpret_cast<unsigned char*>(out.data());
        // The ctrl takes a non-const pointer; a copy also survives in-place decryption.
        std::array<unsigned char, tag_size> tag;
        std::copy_n(u8(sealed.data() + length), tag_size, tag.begin());
        int n = 0;
        bool ok = EVP_DecryptInit_ex2(ctx, nullptr, nullptr, u8(nonce.data()), nullptr) == 1;
        if (ok && !aad.empty())
            ok = EVP_DecryptUpdate(ctx, nullptr, &n, u8(aad.data()), static_cast<int>(aad.size())) == 1;
        int written = 0;
        if (ok && length != 0) {
            ok = EVP_DecryptUpdate(ctx, o, &n, u8(sealed.data()), static_cast<int>(length)) == 1;
            written = n;
        }
        if (ok)
            ok = tag_param(ctx, tag.data(), true);
        // EVP_DecryptFinal_ex is where the tag is compared (in constant time by OpenSSL).
        if (ok)
            ok = EVP_DecryptFinal_ex(ctx, o + written, &n) == 1;
        if (!ok) {
            std::fill_n(out.data(), length, std::byte{0});
            ec = errc::authentication_failed;
            return 0;
        }
        ec.clear();
        return length;
    }

private:
    // The tag through the provider's parameters directly: EVP_CIPHER_CTX_ctrl would translate
    // its code into the same OSSL_PARAM first, a cost paid per record.
    static bool tag_param(EVP_CIPHER_CTX* ctx, unsigned char* tag, bool set) noexcept
    {
        OSSL_PARAM params[2] = {OSSL_PARAM_construct_octet_string(OSSL_CIPHER_PARAM_AEAD_TAG, tag, tag_size),
                                OSSL_PARAM_construct_end()};
        return (set ? EVP_CIPHER_CTX_set_params(ctx, params) : EVP_CIPHER_CTX_get_params(ctx, params)) == 1;
    }

    static const unsigned char* u8(const std::byte* p) noexcept { return reinterpret_cast<const unsigned char*>(p); }

    detail::openssl_cipher_ctx_ptr enc_;
    detail::openssl_cipher_ctx_ptr dec_;
};

/// AES-256-GCM on OpenSSL 3.
using openssl_aes256_gcm = basic_openssl_aead<detail::openssl_gcm_traits>;
/// ChaCha20-Poly1305 (RFC 8439) on OpenSSL 3.
using openssl_chacha20_poly1305 = basic_openssl_aead<detail::openssl_chacha_traits>;

static_assert(aead<openssl_aes256_gcm>, "openssl_aes256_gcm must model tlvcast::crypto::aead");
static_assert(aead<openssl_chacha20_poly1305>, "openssl_chacha20_poly1305 must model tlvcast::crypto::aead");

} // namespace tlvcast::crypto
