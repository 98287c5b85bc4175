// SPDX-License-Identifier: BSL-1.0
// The seed profile's message codec: one side's RSA key pair, and plaintext cut into OAEP blocks and back.
#pragma once

#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace tlvcast::profile::seed::detail {

/// This side's key pair and the block arithmetic both roles share: messages travel as RSA-OAEP
/// blocks of one modulus each, every block carrying at most modulus-66 bytes of plaintext.
/// Constructing checks the key size once, so no backend call fails on a size later.
/// const members are thread-safe (the backends allow concurrent use of one key).
template <crypto::rsa_backend Rsa>
class rsa_blocks {
public:
    using private_key = typename Rsa::private_key;
    using public_key = typename Rsa::public_key;

    /// Throws std::invalid_argument for a key the profile cannot use (outside 2048..4096 bits).
    explicit rsa_blocks(private_key key)
        : key_(std::move(key)), public_(Rsa::public_of(key_)), pem_(Rsa::export_public_pem(public_)),
          modulus_(Rsa::modulus_bytes(public_))
    {
        if (modulus_ < wire::min_rsa_block || modulus_ > wire::max_rsa_block)
            throw std::invalid_argument("tlvcast::rsa_oaep: RSA key size must be 2048 to 4096 bits");
    }

    std::size_t modulus() const noexcept { return modulus_; }
    /// Largest plaintext per block (190 for RSA-2048).
    std::size_t chunk_size() const noexcept { return modulus_ - 66; }
    const public_key& public_of() const noexcept { return public_; }
    const std::string& pem() const noexcept { return pem_; }

    /// How many blocks `size` plaintext bytes take: an empty message is one empty block.
    std::size_t blocks_for(std::size_t size) const noexcept
    {
        return size == 0 ? 1 : (size + chunk_size() - 1) / chunk_size();
    }

    /// Appends the block that carries plaintext chunk `b` of `plaintext`, encrypted to `to`.
    void append_block(const public_key& to, std::span<const std::byte> plaintext, std::size_t b,
                      std::vector<std::byte>& out, std::error_code& ec) const
    {
        const std::size_t off = b * chunk_size();
        const std::size_t n = std::min(chunk_size(), plaintext.size() - off);
        out.resize(out.size() + modulus_);
        Rsa::encrypt(to, plaintext.subspan(off, n), std::span(out).last(modulus_), ec);
    }

    /// Decrypts a client's blob, type-3 TLVs of one block each, at least one. Errors: malformed,
    /// decrypt_failed.
    void decrypt_tlvs(std::span<const std::byte> blob, std::vector<std::byte>& plaintext, std::error_code& ec) const
    {
        plaintext.clear();
        wire::tlv_reader r(blob);
        wire::tlv t;
        std::size_t blocks = 0;
        while (r.next(t, ec)) {
            if (t.type() != wire::tlv_type::encrypted_block || t.value.size() != modulus_) {
                ec = errc::malformed;
                return;
            }
            decrypt_one(t.value, plaintext, ec);
            if (ec)
                return;
            ++blocks;
        }
        if (!ec && blocks == 0)
            ec = errc::malformed;
    }

    /// Decrypts a RELAYED_MESSAGE value: whole blocks back to back, at least one. Errors:
    /// malformed, decrypt_failed.
    void decrypt_concatenated(std::span<const std::byte> value, std::vector<std::byte>& text,
                              std::error_code& ec) const
    {
        text.clear();
        if (value.empty() || value.size() % modulus_ != 0) {
            ec = errc::malformed;
            return;
        }
        for (std::size_t off = 0; off < value.size() && !ec; off += modulus_)
            decrypt_one(value.subspan(off, modulus_), text, ec);
    }

private:
    // Decrypts one block, appending its plaintext.
    void decrypt_one(std::span<const std::byte> block, std::vector<std::byte>& plaintext, std::error_code& ec) const
    {
        const std::size_t at = plaintext.size();
        plaintext.resize(at + modulus_);
        const std::size_t n = Rsa::decrypt(key_, block, std::span(plaintext).subspan(at), ec);
        plaintext.resize(ec ? at : at + n);
    }

    private_key key_;
    public_key public_;
    std::string pem_;
    std::size_t modulus_;
};

} // namespace tlvcast::profile::seed::detail
