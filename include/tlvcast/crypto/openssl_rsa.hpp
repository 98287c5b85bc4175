// SPDX-License-Identifier: BSL-1.0
// RSA backend over OpenSSL 3 (EVP API): RSA keys, PEM (PKCS#8 / SPKI) I/O and RSAES-OAEP with SHA-256.
#pragma once

#if !defined(TLVCAST_HAS_OPENSSL)
#error "tlvcast/crypto/openssl_rsa.hpp needs OpenSSL 3: link the CMake target tlvcast::openssl (it defines TLVCAST_HAS_OPENSSL)"
#endif

#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/crypto/detail/bytes.hpp>
#include <tlvcast/crypto/detail/openssl_handles.hpp>
#include <tlvcast/crypto/detail/openssl_rsa_ops.hpp>
#include <tlvcast/crypto/detail/pem_armor.hpp>
#include <tlvcast/crypto/detail/rsa_checks.hpp>
#include <tlvcast/crypto/detail/rsa_public_info.hpp>
#include <tlvcast/error.hpp>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include <algorithm>
#include <array>
#include <climits>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

static_assert(OPENSSL_VERSION_MAJOR >= 3, "tlvcast's OpenSSL backend needs OpenSSL 3");

namespace tlvcast::crypto {

/// The OpenSSL 3 RSA backend (models rsa_backend). Keys are immutable, shared EVP_PKEYs: copying a
/// key copies a pointer. All functions are static; encrypt/decrypt build a context per call and are
/// safe to call concurrently with the same key.
struct openssl_rsa {
    static constexpr std::string_view name = "openssl";

    /// An RSA public key (a public-only EVP_PKEY) with its DER, PEM and fingerprint computed once.
    /// A default-constructed key is empty: operations on it fail with errc::bad_key.
    class public_key {
    public:
        public_key() = default;
        explicit operator bool() const noexcept { return state_ != nullptr; }
        /// Two keys are equal when their SubjectPublicKeyInfo DER is.
        friend bool operator==(const public_key& a, const public_key& b) noexcept
        {
            return detail::rsa_same_key(a.state_.get(), b.state_.get());
        }
        /// The underlying EVP_PKEY (owned by the key), for code that calls OpenSSL directly.
        EVP_PKEY* native_handle() const noexcept { return state_ ? state_->pkey.get() : nullptr; }

    private:
        friend struct openssl_rsa;
        struct state : detail::rsa_public_info {
            detail::openssl_pkey_ptr pkey;
        };
        explicit public_key(std::shared_ptr<const state> s) noexcept : state_{std::move(s)} {}
        std::shared_ptr<const state> state_;
    };

    /// An RSA private key (EVP_PKEY; OpenSSL clears its key material on free) with its public half,
    /// kept in a separate public-only EVP_PKEY. Empty when default-constructed.
    class private_key {
    public:
        private_key() = default;
        explicit operator bool() const noexcept { return state_ != nullptr; }
        /// The underlying EVP_PKEY (owned by the key), for code that calls OpenSSL directly.
        EVP_PKEY* native_handle() const noexcept { return state_ ? state_->pkey.get() : nullptr; }

    private:
        friend struct openssl_rsa;
        struct state {
            detail::openssl_pkey_ptr pkey;
            public_key pub;
        };
        explicit private_key(std::shared_ptr<const state> s) noexcept : state_{std::move(s)} {}
        std::shared_ptr<const state> state_;
    };

    /// Generates a key of `bits` bits (2048..4096) with public exponent 65537.
    /// Throws std::system_error: errc::bad_key for a size out of range or when OpenSSL fails.
    static private_key generate(unsigned bits = rsa_default_modulus_bits)
    {
        detail::rsa_check_generate_bits(bits);
        detail::openssl_pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_name(nullptr, "RSA", nullptr)};
        EVP_PKEY* raw = nullptr;
        if (!ctx || EVP_PKEY_keygen_init(ctx.get()) != 1 ||
            EVP_PKEY_CTX_set_rsa_keygen_bits(ctx.get(), static_cast<int>(bits)) != 1 ||
            EVP_PKEY_generate(ctx.get(), &raw) != 1)
            throw std::system_error(make_error_code(errc::bad_key),
                                    "tlvcast: RSA key generation failed: " + detail::openssl_take_error());
        return make_private(detail::openssl_pkey_ptr{raw});
    }

    /// Loads a private key from a PEM file: PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE
    /// KEY" (unencrypted), read by read_private_key_file (see key_file.hpp for `options`, `status`).
    /// Throws std::system_error: as read_private_key_file, errc::bad_key when the file holds no such
    /// key, an inconsistent one, or one outside 2048..4096 bits.
    static private_key load_private_pem(const std::filesystem::path& path, const key_file_options& options = {},
                                        key_file_status* status = nullptr)
    {
        const secret_buffer file = read_private_key_file(path, options, status);
        const auto fail = [&](std::string_view why) {
            return std::system_error(make_error_code(errc::bad_key),
                                     "tlvcast: key file '" + path.string() + "': " + std::string{why});
        };
        // read_private_key_file bounds the size far below INT_MAX.
        detail::openssl_bio_ptr bio{BIO_new_mem_buf(file.data(), static_cast<int>(file.size()))};
        if (!bio)
            throw fail("out of memory");
        detail::openssl_pkey_ptr pkey{
            PEM_read_bio_PrivateKey(bio.get(), nullptr, &detail::openssl_no_password, nullptr)};
        if (!pkey)
            throw fail("no unencrypted RSA private key in PEM (" + detail::openssl_take_error() + ")");
        if (!detail::rsa_openssl_acceptable(pkey.get()))
            throw fail("not an RSA key of 2048..4096 bits");
        // Checks that n = p * q, that d and e are inverses and the CRT values agree.
        detail::openssl_pkey_ctx_ptr ctx{EVP_PKEY_CTX_new_from_pkey(nullptr, pkey.get(), nullptr)};
        if (!ctx || EVP_PKEY_pairwise_check(ctx.get()) != 1)
            throw fail("inconsistent RSA private key (" + detail::openssl_take_error() + ")");
        return make_private(std::move(pkey));
    }

    /// Writes `key` as PKCS#8 PEM to a new file at `path` (create_private_key_file: mode 0600, never
    /// over an existing file). Throws std::system_error: errno when the file cannot be created (EEXIST
    /// when the path exists) or written, errc::bad_key for an empty key.
    static void save_private_pem(const private_key& key, const std::filesystem::path& path)
    {
        detail::rsa_check_save_key(key.state_ != nullptr);
        // A secure-memory BIO: the PEM text holds the key and is cleared when freed.
        detail::openssl_bio_ptr bio{BIO_new(BIO_s_secmem())};
        if (!bio || PEM_write_bio_PrivateKey(bio.get(), key.state_->pkey.get(), nullptr, nullptr, 0, nullptr,
                                             nullptr) != 1)
            throw std::system_error(make_error_code(errc::bad_key),
                                    "tlvcast: cannot encode the private key: " + detail::openssl_take_error());
        char* data = nullptr;
        const long size = BIO_get_mem_data(bio.get(), &data);
        create_private_key_file(path, {data, static_cast<std::size_t>(size)});
    }

    /// The public half of `key` (shared, no copy of key material). Never throws.
    static public_key public_of(const private_key& key) noexcept { return key.state_ ? key.state_->pub : public_key{}; }

    /// Parses a SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") from untrusted bytes. Never throws;
    /// errc::bad_key for anything but an RSA key of 2048..4096 bits (an empty key is returned).
    static public_key import_public_pem(std::span<const std::byte> pem, std::error_code& ec) noexcept
    {
        ec.clear();
        if (pem.size() > key_file_max_size) {
            ec = errc::bad_key;
            return {};
        }
        try {
            // OpenSSL's decoders also take "BEGIN RSA PUBLIC KEY" (PKCS#1) here: hand them only the
            // SubjectPublicKeyInfo block, found as the Crypto++ backend finds it.
            const std::string_view text{reinterpret_cast<const char*>(pem.data()), pem.size()};
            const auto body = detail::find_pem_body(text, detail::pem_label_public_key);
            if (!body) {
                ec = errc::bad_key;
                return {};
            }
            const char* first = body->data() - (sizeof "-----BEGIN PUBLIC KEY-----" - 1);
            const char* last = body->data() + body->size() + (sizeof "-----END PUBLIC KEY-----" - 1);
            detail::openssl_bio_ptr bio{BIO_new_mem_buf(first, static_cast<int>(last - first))};
            detail::openssl_pkey_ptr pkey{
                bio ? PEM_read_bio_PUBKEY(bio.get(), nullptr, &detail::openssl_no_password, nullptr) : nullptr};
            if (!pkey || !detail::rsa_openssl_acceptable(pkey.get())) {
                ERR_clear_error();
                ec = errc::bad_key;
                return {};
            }
            public_key key = make_public(std::move(pkey));
            if (!key)
                ec = errc::bad_key;
            return key;
        } catch (...) { // bad_alloc: the input is refused either way
            ERR_clear_error();
            ec = errc::bad_key;
            return {};
        }
    }

    /// SubjectPublicKeyInfo PEM, 64-column lines, trailing newline; "" for an empty key.
    static std::string export_public_pem(const public_key& key) { return detail::rsa_export_pem(key.state_.get()); }

    /// The modulus size in bytes (256 for RSA-2048), 0 for an empty key.
    static std::size_t modulus_bytes(const public_key& key) noexcept { return detail::rsa_modulus_bytes(key.state_.get()); }
    static std::size_t modulus_bytes(const private_key& key) noexcept
    {
        return key.state_ ? modulus_bytes(key.state_->pub) : 0;
    }

    /// SHA-256 of the DER SubjectPublicKeyInfo; all zero for an empty key.
    static std::array<std::byte, 32> fingerprint(const public_key& key) noexcept
    {
        return detail::rsa_fingerprint(key.state_.get());
    }

    /// RSAES-OAEP-SHA-256 encrypts `plain` into the first modulus_bytes bytes of `out`.
    /// Errors: message_too_large, buffer_too_small, bad_key (empty key), std::errc::io_error if
    /// OpenSSL fails (no randomness, out of memory). Never throws; thread-safe.
    static void encrypt(const public_key& key, std::span<const std::byte> plain, std::span<std::byte> out,
                        std::error_code& ec) noexcept
    {
        const std::size_t mb = modulus_bytes(key);
        if (!detail::rsa_check_encrypt(key.state_ != nullptr, mb, plain.size(), out.size(), ec))
            return;
        const unsigned char* in = detail::nonnull_bytes(plain);
        std::size_t out_len = out.size();
        const auto ctx = detail::rsa_openssl_oaep_ctx(key.state_->pkey.get(), true);
        if (!ctx || EVP_PKEY_encrypt(ctx.get(), reinterpret_cast<unsigned char*>(out.data()), &out_len, in,
                                     plain.size()) != 1 ||
            out_len != mb) {
            ERR_clear_error();
            ec = std::make_error_code(std::errc::io_error);
        }
    }

    /// RSAES-OAEP-SHA-256 decrypts one block; returns the plaintext length (0 on error).
    /// Errors: decrypt_failed (size other than modulus_bytes, bad padding, wrong key, value >= n),
    /// buffer_too_small (out under modulus_bytes - 66), bad_key (empty key). Never throws; thread-safe.
    static std::size_t decrypt(const private_key& key, std::span<const std::byte> cipher, std::span<std::byte> out,
                               std::error_code& ec) noexcept
    {
        const std::size_t mb = modulus_bytes(key);
        if (!detail::rsa_check_decrypt(key.state_ != nullptr, mb, cipher.size(), out.size(), ec))
            return 0;
        const auto ctx = detail::rsa_openssl_oaep_ctx(key.state_->pkey.get(), false);
        if (!ctx) {
            ERR_clear_error();
            ec = errc::decrypt_failed;
            return 0;
        }
        // OpenSSL wants room for a whole modulus even though OAEP never yields that much: decrypt
        // into a wiped stack buffer when the caller's holds only the maximum plaintext.
        std::array<unsigned char, rsa_max_modulus_bytes> tmp;
        const bool direct = out.size() >= mb;
        unsigned char* dst = direct ? reinterpret_cast<unsigned char*>(out.data()) : tmp.data();
        std::size_t len = direct ? out.size() : tmp.size();
        const int rc = EVP_PKEY_decrypt(ctx.get(), dst, &len, reinterpret_cast<const unsigned char*>(cipher.data()),
                                        cipher.size());
        if (rc != 1 || len > oaep_sha256_max_plaintext(mb)) {
            ERR_clear_error();
            if (!direct)
                OPENSSL_cleanse(tmp.data(), tmp.size());
            ec = errc::decrypt_failed;
            return 0;
        }
        if (!direct) {
            std::memcpy(out.data(), tmp.data(), len);
            OPENSSL_cleanse(tmp.data(), tmp.size());
        }
        return len;
    }

private:
    /// Builds a public key around a public-only EVP_PKEY; an empty key if OpenSSL cannot encode it.
    /// Throws std::bad_alloc.
    static public_key make_public(detail::openssl_pkey_ptr pkey)
    {
        auto s = std::make_shared<public_key::state>();
        const int der_len = i2d_PUBKEY(pkey.get(), nullptr);
        if (der_len <= 0)
            return {};
        s->der.resize(static_cast<std::size_t>(der_len));
        auto* p = reinterpret_cast<unsigned char*>(s->der.data());
        if (i2d_PUBKEY(pkey.get(), &p) != der_len)
            return {};
        s->pem = detail::rsa_openssl_pem(detail::pem_label_public_key, s->der);
        unsigned int md_len = 0;
        if (EVP_Digest(s->der.data(), s->der.size(), reinterpret_cast<unsigned char*>(s->fingerprint.data()), &md_len,
                       EVP_sha256(), nullptr) != 1 ||
            md_len != s->fingerprint.size())
            return {};
        s->modulus_bytes = static_cast<std::size_t>(EVP_PKEY_get_size(pkey.get()));
        s->pkey = std::move(pkey);
        return public_key{std::move(s)};
    }

    /// Builds a private key and its public-only twin (so that a shared public key never carries
    /// the private exponent). Throws std::system_error when OpenSSL cannot split the key.
    static private_key make_private(detail::openssl_pkey_ptr pkey)
    {
        const int der_len = i2d_PUBKEY(pkey.get(), nullptr);
        std::string der(der_len > 0 ? static_cast<std::size_t>(der_len) : 0, '\0');
        auto* p = reinterpret_cast<unsigned char*>(der.data());
        const unsigned char* q = p;
        detail::openssl_pkey_ptr pub_only;
        if (der_len > 0 && i2d_PUBKEY(pkey.get(), &p) == der_len)
            pub_only.reset(d2i_PUBKEY(nullptr, &q, der_len));
        public_key pub = pub_only ? make_public(std::move(pub_only)) : public_key{};
        if (!pub)
            throw std::system_error(make_error_code(errc::bad_key),
                                    "tlvcast: cannot derive the RSA public key: " + detail::openssl_take_error());
        auto s = std::make_shared<private_key::state>();
        s->pkey = std::move(pkey);
        s->pub = std::move(pub);
        return private_key{std::move(s)};
    }
};

static_assert(rsa_backend<openssl_rsa>, "openssl_rsa does not model rsa_backend");

} // namespace tlvcast::crypto
