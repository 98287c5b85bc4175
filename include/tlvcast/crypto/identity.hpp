// SPDX-License-Identifier: BSL-1.0
// Ed25519 identities over any suite: generation, checked derivation from a seed, and the identity file.
#pragma once

#include <tlvcast/crypto/detail/base64.hpp>
#include <tlvcast/crypto/detail/ed25519_checks.hpp>
#include <tlvcast/crypto/detail/wipe.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/error.hpp>

#include <algorithm>
#include <array>
#include <cstddef>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::crypto {

namespace detail {

/// DER of an RFC 8410 OneAsymmetricKey v1 for Ed25519, up to the seed: SEQUENCE { INTEGER 0,
/// SEQUENCE { OID 1.3.101.112 }, OCTET STRING { OCTET STRING (32) } }. The seed follows.
inline constexpr std::array<unsigned char, 16> pkcs8_ed25519_prefix = {
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20};
inline constexpr std::size_t pkcs8_ed25519_size = pkcs8_ed25519_prefix.size() + ed25519_seed_size; // 48
inline constexpr std::size_t pkcs8_ed25519_base64_size = base64_size(pkcs8_ed25519_size);          // 64
inline constexpr std::string_view identity_pem_begin = "-----BEGIN PRIVATE KEY-----";
inline constexpr std::string_view identity_pem_end = "-----END PRIVATE KEY-----";

/// The 64 base64 characters between the armor lines of an identity file, whitespace removed, into
/// `b64`; false unless `text` is exactly one such block with only whitespace around it.
inline bool identity_pem_body(std::string_view text, std::span<char, pkcs8_ed25519_base64_size> b64) noexcept
{
    const auto begin = text.find(identity_pem_begin);
    const auto end = text.find(identity_pem_end);
    if (begin == std::string_view::npos || end == std::string_view::npos || begin > end)
        return false;
    static constexpr std::string_view space = " \t\r\n";
    if (text.substr(0, begin).find_first_not_of(space) != std::string_view::npos ||
        text.substr(end + identity_pem_end.size()).find_first_not_of(space) != std::string_view::npos)
        return false;
    std::size_t n = 0;
    const auto body = text.substr(begin + identity_pem_begin.size(), end - begin - identity_pem_begin.size());
    for (const char c : body) {
        if (space.find(c) != std::string_view::npos)
            continue;
        if (n == b64.size())
            return false;
        b64[n++] = c;
    }
    return n == b64.size();
}

} // namespace detail

/// The identity whose RFC 8032 private key is `seed`. Throws std::system_error (errc::bad_key) if
/// the public key were a small-order or non-canonical point (no clamped seed yields one; the check
/// keeps a faulty backend from producing a key anyone can sign for).
template <suite Suite>
ed25519_keypair ed25519_from_seed(std::span<const std::byte, ed25519_seed_size> seed)
{
    ed25519_keypair id;
    id.private_key = secret_bytes<ed25519_seed_size>(seed);
    id.public_key = Suite::ed25519_public_key(seed);
    if (!detail::ed25519_point_acceptable(id.public_key))
        throw std::system_error(make_error_code(errc::bad_key), "tlvcast: Ed25519 public key of small order");
    return id;
}

/// A fresh Ed25519 identity: a seed from Suite's CSPRNG and its (checked) public key.
template <suite Suite>
ed25519_keypair generate_ed25519()
{
    secret_bytes<ed25519_seed_size> seed;
    Suite::random_bytes(seed.span());
    return ed25519_from_seed<Suite>(seed.span());
}

/// Writes the identity file of `id`: PEM "PRIVATE KEY", the 48-byte unencrypted PKCS#8 v1 structure
/// of RFC 8410 section 7 holding the seed, base64 on one 64-character line (119 bytes): what `openssl
/// genpkey -algorithm ed25519` writes and `openssl pkey` reads. Created by create_private_key_file:
/// mode 0600, never over an existing file. Throws std::system_error (EEXIST when the path exists).
inline void save_identity(const std::filesystem::path& path, const ed25519_keypair& id)
{
    std::array<unsigned char, detail::pkcs8_ed25519_size> der{};
    std::copy(detail::pkcs8_ed25519_prefix.begin(), detail::pkcs8_ed25519_prefix.end(), der.begin());
    const auto seed = id.private_key.span();
    std::copy_n(reinterpret_cast<const unsigned char*>(seed.data()), seed.size(),
                der.begin() + detail::pkcs8_ed25519_prefix.size());
    // "BEGIN\n" + 64 + "\n" + "END\n": 119 bytes.
    std::array<char, 128> text{};
    std::size_t n = 0;
    const auto put = [&](std::string_view s) {
        std::copy(s.begin(), s.end(), text.begin() + static_cast<std::ptrdiff_t>(n));
        n += s.size();
    };
    put(detail::identity_pem_begin);
    put("\n");
    detail::base64_encode(der, std::span<char>(text).subspan(n, detail::pkcs8_ed25519_base64_size));
    n += detail::pkcs8_ed25519_base64_size;
    put("\n");
    put(detail::identity_pem_end);
    put("\n");
    detail::secure_wipe(der.data(), der.size());
    try {
        create_private_key_file(path, std::span<const char>(text.data(), n));
    } catch (...) {
        detail::secure_wipe(text.data(), text.size());
        throw;
    }
    detail::secure_wipe(text.data(), text.size());
}

/// Reads an identity file written by save_identity (or `openssl genpkey -algorithm ed25519`) through
/// read_private_key_file: no symbolic links, FIFOs or devices; a file that group or others may access
/// is reported in `status` and refused under `options.strict_permissions`.
/// Throws std::system_error: as read_private_key_file, and errc::bad_key for anything but that
/// exact structure (an encrypted key, another algorithm, trailing data).
template <suite Suite>
ed25519_keypair load_identity(const std::filesystem::path& path, const key_file_options& options = {},
                              key_file_status* status = nullptr)
{
    const secret_buffer text = read_private_key_file(path, options, status);
    std::array<char, detail::pkcs8_ed25519_base64_size> b64{};
    std::array<unsigned char, detail::pkcs8_ed25519_size> der{};
    const bool ok = detail::identity_pem_body(std::string_view(text.data(), text.size()), b64) &&
                    detail::base64_decode(b64, der) &&
                    std::equal(detail::pkcs8_ed25519_prefix.begin(), detail::pkcs8_ed25519_prefix.end(), der.begin());
    secret_bytes<ed25519_seed_size> seed;
    if (ok)
        std::copy_n(reinterpret_cast<const std::byte*>(der.data() + detail::pkcs8_ed25519_prefix.size()),
                    ed25519_seed_size, seed.span().begin());
    detail::secure_wipe(b64.data(), b64.size());
    detail::secure_wipe(der.data(), der.size());
    if (!ok)
        throw std::system_error(make_error_code(errc::bad_key),
                                "tlvcast: not an unencrypted PKCS#8 Ed25519 PEM key: '" + path.string() + "'");
    return ed25519_from_seed<Suite>(seed.span());
}

/// Loads the identity at `path` (see load_identity), or, when nothing is there, generates one and
/// saves it there (see save_identity). Throws what those throw.
template <suite Suite>
ed25519_keypair load_or_create_identity(const std::filesystem::path& path, const key_file_options& options = {},
                                        key_file_status* status = nullptr)
{
    std::error_code ec;
    // symlink_status: a dangling link is "there" too, and then load_identity refuses it clearly.
    if (std::filesystem::exists(std::filesystem::symlink_status(path, ec)))
        return load_identity<Suite>(path, options, status);
    auto id = generate_ed25519<Suite>();
    save_identity(path, id);
    if (status)
        *status = {};
    return id;
}

} // namespace tlvcast::crypto
