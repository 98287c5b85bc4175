// SPDX-License-Identifier: BSL-1.0
// The seed profile's relay side: key registration, opening client messages, SENDER_INFO re-encryption, presence.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/seed/control.hpp>
#include <tlvcast/profile/seed/detail/rsa_blocks.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <cstddef>
#include <optional>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

namespace tlvcast::profile::seed {

/// The relay's view of one client: the key it registered.
template <crypto::rsa_backend Rsa>
struct peer_session {
    typename Rsa::public_key key;
    crypto::fingerprint key_fingerprint{};
};

namespace detail {

/// The relay half of basic_rsa_oaep (rsa_oaep.hpp documents each call). It holds the prebuilt
/// SERVER_PUBLIC_KEY answer; the key pair comes in from the policy on each call.
template <crypto::rsa_backend Rsa>
class relay_side {
public:
    using session = peer_session<Rsa>;

    explicit relay_side(std::string_view pem)
    {
        std::error_code ec;
        wire::tlv_appender(server_key_).put(wire::tlv_type::server_public_key, wire::as_bytes(pem), ec);
    }

    bool handshake(const endpoint& from, const wire::tlv& t, datagram_batch& out, std::optional<session>& registered,
                   std::error_code& ec) const
    {
        ec = {};
        const bool is_handshake =
            t.type() == wire::tlv_type::register_public_key || t.type() == wire::tlv_type::request_server_key;
        // The seed wire names peers by IPv4 address only: it could not tell the others about this one.
        if (is_handshake && !from.is_v4()) {
            ec = errc::address_family;
            return true;
        }
        if (t.type() == wire::tlv_type::register_public_key) {
            typename Rsa::public_key key = Rsa::import_public_pem(t.value, ec);
            if (!ec) {
                const crypto::fingerprint fp = Rsa::fingerprint(key);
                registered.emplace(session{std::move(key), fp});
            }
            return true;
        }
        if (t.type() == wire::tlv_type::request_server_key) {
            out.push(from, server_key_);
            return true;
        }
        return false;
    }

    static crypto::message_kind open(const rsa_blocks<Rsa>& keys, std::span<const std::byte> blob,
                                     std::vector<std::byte>& plaintext, std::error_code& ec)
    {
        keys.decrypt_tlvs(blob, plaintext, ec);
        if (ec)
            return crypto::message_kind::data;
        return control_of(plaintext).value_or(crypto::message_kind::data);
    }

    static void seal_relayed(const rsa_blocks<Rsa>& keys, const session& to, const endpoint& sender,
                             std::span<const std::byte> plaintext, std::vector<std::byte>& blob, std::error_code& ec)
    {
        ec = {};
        blob.clear();
        const std::size_t blocks = keys.blocks_for(plaintext.size());
        // The whole SENDER_INFO travels as one TLV: its value must fit a TLV length.
        if (blocks * keys.modulus() > wire::max_value_size - wire::address_port_size - wire::tlv_header_size) {
            ec = errc::message_too_large;
            return;
        }
        std::byte addr[wire::address_port_size];
        wire::encode_address(addr, sender, ec);
        if (ec)
            return;
        wire::tlv_appender a(blob);
        const std::size_t outer = a.begin(wire::tlv_type::sender_info);
        a.put_raw(addr);
        const std::size_t inner = a.begin(wire::tlv_type::relayed_message);
        for (std::size_t b = 0; b < blocks; ++b) {
            keys.append_block(to.key, plaintext, b, blob, ec);
            if (ec)
                return;
        }
        a.end(inner, ec);
        a.end(outer, ec);
    }

    static void presence(bool connected, const endpoint& about, std::vector<std::byte>& blob, std::error_code& ec)
    {
        blob.clear();
        wire::tlv_appender a(blob);
        wire::append_presence(a, connected ? wire::tlv_type::client_connected : wire::tlv_type::client_disconnected,
                              about, ec);
    }

private:
    std::vector<std::byte> server_key_; // SERVER_PUBLIC_KEY(pem), the answer to every REQUEST_SERVER_KEY
};

} // namespace detail
} // namespace tlvcast::profile::seed
