// SPDX-License-Identifier: BSL-1.0
// The group profile's blobs (docs/PROTOCOL.md, "Group profile"): zero-copy views that check every
// length, and the writers. Nothing here verifies a signature or holds a key.
#pragma once

#include <tlvcast/crypto/suite.hpp>
#include <tlvcast/crypto/trust.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/key_schedule.hpp>
#include <tlvcast/profile/group/options.hpp>
#include <tlvcast/wire/address.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

using bytes = std::span<const std::byte>;
using public_key = std::array<std::byte, 32>;

inline constexpr std::size_t key_package_size = wire::group_key_package_size; // identity init seq signature
inline constexpr std::size_t cert_size = wire::group_cert_size;
inline constexpr std::size_t roster_entry_size = 32 + 32 + 4; // identity init seq
inline constexpr std::size_t message_header_size = wire::group_message_header;
inline constexpr std::size_t signature_size = crypto::ed25519_signature_size;

/// One member as the roster holds it: its identity key, its current init (X25519) key and the
/// sequence number of the key package that gave it (a replacement must be newer).
struct member_entry {
    public_key identity{};
    public_key init{};
    std::uint32_t seq = 0;
    friend bool operator==(const member_entry&, const member_entry&) = default;
};

/// A key package: identity(32) init(32) seq(4) signature(64), the signature by the identity key
/// over "tlvcast group v1 key package" || identity || init || seq.
struct key_package_view {
    member_entry entry;
    bytes signed_part; ///< identity || init || seq
    bytes signature;
    bytes all;
};

inline key_package_view read_key_package(bytes at) noexcept
{
    key_package_view kp;
    std::copy_n(at.begin(), 32, kp.entry.identity.begin());
    std::copy_n(at.begin() + 32, 32, kp.entry.init.begin());
    kp.entry.seq = static_cast<std::uint32_t>(detail::get_be(at.subspan(64), 4));
    kp.signed_part = at.first(68);
    kp.signature = at.subspan(68, signature_size);
    kp.all = at.first(key_package_size);
    return kp;
}

/// GROUP_JOIN's value (also inside GROUP_PRESENCE): mode(1) key package [certificate(64)].
struct join_view {
    delivery mode = delivery::unicast;
    key_package_view kp;
    std::optional<bytes> cert;
    bytes all;
};

inline join_view read_join(bytes v, std::error_code& ec) noexcept
{
    join_view j;
    ec = {};
    if ((v.size() != wire::group_join_min && v.size() != wire::group_join_max) ||
        std::to_integer<unsigned>(v[0]) > 1) {
        ec = errc::malformed;
        return j;
    }
    j.mode = static_cast<delivery>(std::to_integer<unsigned>(v[0]));
    j.kp = read_key_package(v.subspan(1));
    if (v.size() == wire::group_join_max)
        j.cert = v.subspan(1 + key_package_size, cert_size);
    j.all = v;
    return j;
}

/// GROUP_PRESENCE: kind(1: 1 joined, 0 left) address(19) fingerprint(32) [the join's value].
struct presence_view {
    bool joined = false;
    endpoint about;
    crypto::fingerprint identity{};
    std::optional<join_view> join;
};

inline presence_view read_presence(bytes v, std::error_code& ec) noexcept
{
    presence_view p;
    ec = {};
    const unsigned kind = std::to_integer<unsigned>(v[0]);
    if (kind > 1 || (kind == 0 && v.size() != wire::group_presence_fixed)) {
        ec = errc::malformed;
        return p;
    }
    p.joined = kind == 1;
    p.about = wire::decode_tagged_address(v.subspan(1), ec);
    if (ec)
        return p;
    std::copy_n(v.begin() + 1 + wire::tagged_address_size, 32, p.identity.begin());
    if (p.joined) {
        p.join = read_join(v.subspan(wire::group_presence_fixed), ec);
        if (ec)
            p.join.reset();
    }
    return p;
}

/// GROUP_WELCOME: group_id(16) epoch(8) first(2) total(2) [identity(32) init(32) seq(4)]*n: the
/// roster entries first .. first+n-1 of the epoch's `total`.
struct welcome_view {
    group_id gid{};
    std::uint64_t epoch = 0;
    std::size_t first = 0, total = 0;
    std::vector<member_entry> entries;
};

inline welcome_view read_welcome(bytes v, std::size_t max_members, std::error_code& ec)
{
    welcome_view w;
    ec = {};
    const std::size_t body = v.size() - wire::group_welcome_min;
    std::copy_n(v.begin(), group_id_size, w.gid.begin());
    w.epoch = detail::get_be(v.subspan(16), 8);
    w.first = detail::get_be(v.subspan(24), 2);
    w.total = detail::get_be(v.subspan(26), 2);
    const std::size_t n = body / roster_entry_size;
    if (body % roster_entry_size != 0 || n == 0 || w.total == 0 || w.total > max_members || w.first + n > w.total ||
        w.epoch == 0) {
        ec = errc::malformed;
        return {};
    }
    w.entries.resize(n);
    for (std::size_t i = 0; i < n; ++i) {
        const bytes e = v.subspan(wire::group_welcome_min + i * roster_entry_size);
        std::copy_n(e.begin(), 32, w.entries[i].identity.begin());
        std::copy_n(e.begin() + 32, 32, w.entries[i].init.begin());
        w.entries[i].seq = static_cast<std::uint32_t>(detail::get_be(e.subspan(64), 4));
    }
    return w;
}

/// GROUP_MESSAGE: group_id(16) epoch(8) sender(2) generation(4) || AEAD(message || signature).
struct message_view {
    group_id gid{};
    std::uint64_t epoch = 0;
    std::uint16_t sender = 0;
    std::uint32_t generation = 0;
    bytes header, sealed;
};

inline message_view read_message(bytes v) noexcept // the type table guarantees the minimum length
{
    message_view m;
    std::copy_n(v.begin(), group_id_size, m.gid.begin());
    m.epoch = detail::get_be(v.subspan(16), 8);
    m.sender = static_cast<std::uint16_t>(detail::get_be(v.subspan(24), 2));
    m.generation = static_cast<std::uint32_t>(detail::get_be(v.subspan(26), 4));
    m.header = v.first(message_header_size);
    m.sealed = v.subspan(message_header_size);
    return m;
}

/// The roster's encoding that commits sign the hash of: "tlvcast group v1 roster" || n(2) ||
/// [identity init seq]*n.
template <class Suite>
crypto::sha256_digest roster_hash(std::span<const member_entry> roster)
{
    std::vector<std::byte> v;
    v.reserve(labels::roster.size() + 2 + roster.size() * roster_entry_size);
    detail::append(v, detail::bytes_of(labels::roster));
    detail::put_be(v, roster.size(), 2);
    for (const auto& m : roster) {
        detail::append(v, m.identity);
        detail::append(v, m.init);
        detail::put_be(v, m.seq, 4);
    }
    return Suite::sha256(v);
}

/// Wraps `value` as one TLV of `type` into `blob`. Errors: message_too_large.
inline void write_blob(wire::tlv_type type, bytes value, std::vector<std::byte>& blob, std::error_code& ec)
{
    blob.clear();
    wire::tlv_appender(blob).put(type, value, ec);
    if (ec)
        ec = errc::message_too_large;
}

/// Writes welcome pages of at most `per_page` entries, each a whole GROUP_WELCOME blob.
inline std::vector<std::vector<std::byte>> write_welcome(const group_id& gid, std::uint64_t epoch,
                                                         std::span<const member_entry> roster, std::size_t per_page)
{
    std::vector<std::vector<std::byte>> pages;
    for (std::size_t first = 0; first < roster.size(); first += per_page) {
        const std::size_t n = std::min(per_page, roster.size() - first);
        std::vector<std::byte> v;
        v.reserve(wire::group_welcome_min + n * roster_entry_size);
        detail::append(v, gid);
        detail::put_be(v, epoch, 8);
        detail::put_be(v, first, 2);
        detail::put_be(v, roster.size(), 2);
        for (std::size_t i = first; i < first + n; ++i) {
            detail::append(v, roster[i].identity);
            detail::append(v, roster[i].init);
            detail::put_be(v, roster[i].seq, 4);
        }
        std::error_code ec;
        pages.emplace_back();
        write_blob(wire::tlv_type::group_welcome, v, pages.back(), ec); // per_page keeps it under 64 KiB
    }
    return pages;
}

/// GROUP_PRESENCE(joined, about, its fingerprint, [its GROUP_JOIN value]), as the relay writes it.
inline void write_presence(bool joined, const endpoint& about, const crypto::fingerprint& identity, bytes join,
                           std::vector<std::byte>& blob, std::error_code& ec)
{
    std::vector<std::byte> v(1 + wire::tagged_address_size);
    v[0] = static_cast<std::byte>(joined ? 1 : 0);
    wire::encode_tagged_address(std::span(v).subspan(1).first<wire::tagged_address_size>(), about, ec);
    if (ec)
        return;
    detail::append(v, identity);
    if (joined)
        detail::append(v, join);
    write_blob(wire::tlv_type::group_presence, v, blob, ec);
}

/// Entries per welcome page: (65,535 - 28) / 68.
inline constexpr std::size_t welcome_page_entries = (0xffff - wire::group_welcome_min) / roster_entry_size;

} // namespace tlvcast::profile::group

#include <tlvcast/profile/group/commit_codec.hpp>
