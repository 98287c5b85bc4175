// SPDX-License-Identifier: BSL-1.0
// RSA backend over Crypto++ 8.7: RSA keys, PEM (PKCS#8 / SPKI) I/O and RSAES-OAEP with SHA-256.
#pragma once

#if !defined(TLVCAST_HAS_CRYPTOPP)
#error "tlvcast/crypto/cryptopp_rsa.hpp needs Crypto++: configure with TLVCAST_WITH_CRYPTOPP=ON (it defines TLVCAST_HAS_CRYPTOPP)"
#endif

#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/crypto/detail/bytes.hpp>
#include <tlvcast/crypto/detail/pem_armor.hpp>
#include <tlvcast/crypto/detail/rsa_checks.hpp>
#include <tlvcast/crypto/detail/rsa_public_info.hpp>
#include <tlvcast/error.hpp>

#include <cryptopp/base64.h>
#include <cryptopp/filters.h>
#include <cryptopp/oaep.h>
#include <cryptopp/osrng.h>
#include <cryptopp/queue.h>
#include <cryptopp/rsa.h>
#include <cryptopp/secblock.h>
#include <cryptopp/sha.h>

#include <array>
#include <cstddef>
#include <cstring>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>

namespace tlvcast::crypto {

namespace detail {

/// One Crypto++ generator per thread: AutoSeededRandomPool is not safe to share, and a generator
/// per call would read the OS entropy source each time. Throws CryptoPP::OS_RNG_Err on first use
/// in a thread if the OS source cannot be opened.
inline CryptoPP::RandomNumberGenerator& rsa_cryptopp_rng()
{
    thread_local CryptoPP::AutoSeededRandomPool rng;
    return rng;
}

/// Base64-decodes a PEM body (already checked to hold only base64 and whitespace) into wiped memory.
/// Throws CryptoPP::Exception.
inline CryptoPP::SecByteBlock rsa_cryptopp_unbase64(std::string_view body)
{
    CryptoPP::SecByteBlock der(body.size() / 4 * 3 + 3);
    auto* sink = new CryptoPP::ArraySink(der.data(), der.size());
    CryptoPP::StringSource src(reinterpret_cast<const CryptoPP::byte*>(body.data()), body.size(), true,
                               new CryptoPP::Base64Decoder(sink));
    der.resize(static_cast<std::size_t>(sink->TotalPutLength()));
    return der;
}

/// Armors DER as PEM: 64-column base64 lines, each ending in "\n", the layout of OpenSSL and of
/// Python's cryptography. Output goes to wiped memory because it may hold a private key.
inline CryptoPP::SecByteBlock rsa_cryptopp_pem(std::string_view label, const CryptoPP::byte* der, std::size_t size)
{
    const std::size_t b64 = (size + 2) / 3 * 4;
    const std::size_t lines = (b64 + 63) / 64;
    const std::string begin = "-----BEGIN " + std::string{label} + "-----\n";
    const std::string end = "-----END " + std::string{label} + "-----\n";
    CryptoPP::SecByteBlock pem(begin.size() + b64 + lines + end.size());
    std::memcpy(pem.data(), begin.data(), begin.size());
    auto* sink = new CryptoPP::ArraySink(pem.data() + begin.size(), b64 + lines);
    CryptoPP::Base64Encoder enc(sink, true, 64);
    enc.Put(der, size);
    enc.MessageEnd();
    const std::size_t written = static_cast<std::size_t>(sink->TotalPutLength());
    std::memcpy(pem.data() + begin.size() + written, end.data(), end.size());
    pem.resize(begin.size() + written + end.size());
    return pem;
}

/// The checks every backend applies to an RSA public key it accepts: modulus of 2048..4096 bits,
/// odd; public exponent odd, > 1 and < n.
inline bool rsa_cryptopp_acceptable(const CryptoPP::RSAFunction& f)
{
    const CryptoPP::Integer& n = f.GetModulus();
    const CryptoPP::Integer& e = f.GetPublicExponent();
    const unsigned bits = n.BitCount();
    return bits >= rsa_min_modulus_bits && bits <= rsa_max_modulus_bits && n.IsOdd() && e.IsOdd() &&
           e > CryptoPP::Integer::One() && e < n;
}

} // namespace detail

/// The Crypto++ RSA backend (models rsa_backend). Keys are immutable and shared: copying a key
/// copies a pointer. All functions are static; encrypt/decrypt use a per-thread generator and are
/// safe to call concurrently with the same key.
struct cryptopp_rsa {
    static constexpr std::string_view name = "cryptopp";

    using encryptor_type = CryptoPP::RSAES<CryptoPP::OAEP<CryptoPP::SHA256>>::Encryptor;
    using decryptor_type = CryptoPP::RSAES<CryptoPP::OAEP<CryptoPP::SHA256>>::Decryptor;

    /// An RSA public key with its encryptor, DER, PEM and fingerprint computed once. A
    /// default-constructed key is empty: operations on it fail with errc::bad_key.
    class public_key {
    public:
        public_key() = default;
        explicit operator bool() const noexcept { return state_ != nullptr; }
        /// Two keys are equal when their SubjectPublicKeyInfo DER is.
        friend bool operator==(const public_key& a, const public_key& b) noexcept
        {
            return detail::rsa_same_key(a.state_.get(), b.state_.get());
        }

    private:
        friend struct cryptopp_rsa;
        struct state : detail::rsa_public_info {
            explicit state(const CryptoPP::RSAFunction& f) : encryptor{f} {}
            encryptor_type encryptor;
        };
        explicit public_key(std::shared_ptr<const state> s) noexcept : state_{std::move(s)} {}
        std::shared_ptr<const state> state_;
    };

    /// An RSA private key (InvertibleRSAFunction, whose integers live in wiped memory) with its
    /// public half. A default-constructed key is empty: operations on it fail with errc::bad_key.
    class private_key {
    public:
        private_key() = default;
        explicit operator bool() const noexcept { return state_ != nullptr; }

    private:
        friend struct cryptopp_rsa;
        struct state {
            state(const CryptoPP::InvertibleRSAFunction& k, public_key p) : decryptor{k}, pub{std::move(p)} {}
            decryptor_type decryptor;
            public_key pub;
        };
        explicit private_key(std::shared_ptr<const state> s) noexcept : state_{std::move(s)} {}
        std::shared_ptr<const state> state_;
    };

    /// Generates a key of `bits` bits (2048..4096) with public exponent 65537.
    /// Throws std::system_error: errc::bad_key for a size out of range, or the generator failed.
    static private_key generate(unsigned bits = rsa_default_modulus_bits)
    {
        detail::rsa_check_generate_bits(bits);
        try {
            CryptoPP::InvertibleRSAFunction k;
            k.Initialize(detail::rsa_cryptopp_rng(), static_cast<unsigned int>(bits), CryptoPP::Integer{65537});
            return make_private(k);
        } catch (const CryptoPP::Exception& e) {
            throw std::system_error(make_error_code(errc::bad_key),
                                    std::string{"tlvcast: RSA key generation failed: "} + e.what());
        }
    }

    /// Loads a private key from a PEM file: PKCS#8 "BEGIN PRIVATE KEY" or PKCS#1 "BEGIN RSA PRIVATE
    /// KEY" (unencrypted), read by read_private_key_file (see key_file.hpp for `options`, `status`).
    /// Throws std::system_error: as read_private_key_file, errc::bad_key when the file holds no such
    /// key, a malformed one, or one outside 2048..4096 bits.
    static private_key load_private_pem(const std::filesystem::path& path, const key_file_options& options = {},
                                        key_file_status* status = nullptr)
    {
        const secret_buffer file = read_private_key_file(path, options, status);
        const std::string_view text{reinterpret_cast<const char*>(file.data()), file.size()};
        const auto fail = [&](std::string_view why) {
            return std::system_error(make_error_code(errc::bad_key),
                                     "tlvcast: key file '" + path.string() + "': " + std::string{why});
        };
        CryptoPP::InvertibleRSAFunction k;
        try {
            if (const auto pkcs8 = detail::find_pem_body(text, detail::pem_label_private_key)) {
                const CryptoPP::SecByteBlock der = detail::rsa_cryptopp_unbase64(*pkcs8);
                CryptoPP::ArraySource src(der.data(), der.size(), true);
                k.BERDecode(src);
                if (src.AnyRetrievable())
                    throw fail("trailing data after the PKCS#8 private key");
            } else if (const auto pkcs1 = detail::find_pem_body(text, detail::pem_label_rsa_private_key)) {
                const CryptoPP::SecByteBlock der = detail::rsa_cryptopp_unbase64(*pkcs1);
                CryptoPP::ArraySource src(der.data(), der.size(), true);
                k.BERDecodePrivateKey(src, false, der.size());
                if (src.AnyRetrievable())
                    throw fail("trailing data after the PKCS#1 private key");
            } else {
                throw fail("no unencrypted \"BEGIN PRIVATE KEY\" or \"BEGIN RSA PRIVATE KEY\" PEM block");
            }
            if (!detail::rsa_cryptopp_acceptable(k))
                throw fail("RSA key outside 2048..4096 bits or with an invalid public part");
            // Level 1 checks that n = p * q, that d and e are inverses and the CRT values agree.
            if (!k.Validate(detail::rsa_cryptopp_rng(), 1))
                throw fail("inconsistent RSA private key");
            return make_private(k);
        } catch (const CryptoPP::Exception& e) {
            throw fail(std::string{"not an RSA private key: "} + e.what());
        }
    }

    /// Writes `key` as PKCS#8 PEM to a new file at `path` (create_private_key_file: mode 0600, never
    /// over an existing file). Throws std::system_error: errno when the file cannot be created (EEXIST
    /// when the path exists) or written, errc::bad_key for an empty key.
    static void save_private_pem(const private_key& key, const std::filesystem::path& path)
    {
        detail::rsa_check_save_key(key.state_ != nullptr);
        CryptoPP::SecByteBlock pem;
        try {
            CryptoPP::ByteQueue q; // ByteQueue nodes are wiped on release
            key.state_->decryptor.GetKey().DEREncode(q);
            CryptoPP::SecByteBlock der(static_cast<std::size_t>(q.MaxRetrievable()));
            q.Get(der.data(), der.size());
            pem = detail::rsa_cryptopp_pem(detail::pem_label_private_key, der.data(), der.size());
        } catch (const CryptoPP::Exception& e) {
            throw std::system_error(make_error_code(errc::bad_key),
                                    std::string{"tlvcast: cannot encode the private key: "} + e.what());
        }
        create_private_key_file(path, {reinterpret_cast<const char*>(pem.data()), pem.size()});
    }

    /// The public half of `key` (shared, no copy of key material). Never throws.
    static public_key public_of(const private_key& key) noexcept
    {
        return key.state_ ? key.state_->pub : public_key{};
    }

    /// Parses a SubjectPublicKeyInfo PEM ("BEGIN PUBLIC KEY") from untrusted bytes. Never throws;
    /// errc::bad_key for anything but an RSA key of 2048..4096 bits (an empty key is returned).
    static public_key import_public_pem(std::span<const std::byte> pem, std::error_code& ec) noexcept
    {
        ec.clear();
        try {
            const std::string_view text{reinterpret_cast<const char*>(pem.data()), pem.size()};
            const auto body = detail::find_pem_body(text, detail::pem_label_public_key);
            if (!body) {
                ec = errc::bad_key;
                return {};
            }
            const CryptoPP::SecByteBlock der = detail::rsa_cryptopp_unbase64(*body);
            CryptoPP::ArraySource src(der.data(), der.size(), true);
            CryptoPP::RSAFunction f;
            f.BERDecode(src); // checks the rsaEncryption OID: EC, DSA, RSA-PSS keys throw
            if (src.AnyRetrievable() || !detail::rsa_cryptopp_acceptable(f)) {
                ec = errc::bad_key;
                return {};
            }
            return make_public(f);
        } catch (...) { // BERDecodeErr, bad_alloc: the input is refused either way
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
    /// Errors: message_too_large, buffer_too_small, bad_key (empty key), std::errc::io_error if the
    /// system generator fails. Never throws; thread-safe.
    static void encrypt(const public_key& key, std::span<const std::byte> plain, std::span<std::byte> out,
                        std::error_code& ec) noexcept
    {
        const std::size_t mb = modulus_bytes(key);
        if (!detail::rsa_check_encrypt(key.state_ != nullptr, mb, plain.size(), out.size(), ec))
            return;
        try {
            // Sizes were checked above, so only the generator can throw here.
            key.state_->encryptor.Encrypt(detail::rsa_cryptopp_rng(), detail::nonnull_bytes(plain), plain.size(),
                                          reinterpret_cast<CryptoPP::byte*>(out.data()));
        } catch (...) {
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
        try {
            const CryptoPP::DecodingResult r =
                key.state_->decryptor.Decrypt(detail::rsa_cryptopp_rng(), detail::nonnull_bytes(cipher),
                                              cipher.size(), reinterpret_cast<CryptoPP::byte*>(out.data()));
            if (!r.isValidCoding) {
                ec = errc::decrypt_failed;
                return 0;
            }
            return r.messageLength;
        } catch (...) {
            // A ciphertext >= n fails Crypto++'s fault check of the private-key operation and throws.
            ec = errc::decrypt_failed;
            return 0;
        }
    }

private:
    static public_key make_public(const CryptoPP::RSAFunction& f)
    {
        auto s = std::make_shared<public_key::state>(f);
        CryptoPP::StringSink der_sink{s->der};
        f.DEREncode(der_sink);
        const auto* der = reinterpret_cast<const CryptoPP::byte*>(s->der.data());
        const CryptoPP::SecByteBlock pem = detail::rsa_cryptopp_pem(detail::pem_label_public_key, der, s->der.size());
        s->pem.assign(reinterpret_cast<const char*>(pem.data()), pem.size());
        CryptoPP::SHA256{}.CalculateDigest(reinterpret_cast<CryptoPP::byte*>(s->fingerprint.data()), der,
                                           s->der.size());
        s->modulus_bytes = s->encryptor.FixedCiphertextLength();
        return public_key{std::move(s)};
    }

    static private_key make_private(const CryptoPP::InvertibleRSAFunction& k)
    {
        CryptoPP::RSAFunction f;
        f.Initialize(k.GetModulus(), k.GetPublicExponent());
        return private_key{std::make_shared<const private_key::state>(k, make_public(f))};
    }
};

static_assert(rsa_backend<cryptopp_rsa>, "cryptopp_rsa does not model rsa_backend");

} // namespace tlvcast::crypto
