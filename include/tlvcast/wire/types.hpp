// SPDX-License-Identifier: BSL-1.0
// The TLV type registry: every type of every profile, with its allowed value lengths and senders.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace tlvcast::wire {

/// TLV types on the wire. Values 1..12 are the seed profile's (docs/PROTOCOL.md, "Seed profile");
/// 2 and 8 stay unassigned.
/// Values 13..20 are the secure profile's (docs/PROTOCOL.md, "Secure profile").
enum class tlv_type : std::uint16_t {
    fragment = 1,             ///< msg_id(4) seq(2) total(2) payload
    encrypted_block = 3,      ///< one RSA-OAEP ciphertext, inside a reassembled fragment payload
    register_public_key = 4,  ///< client's PEM SubjectPublicKeyInfo
    server_public_key = 5,    ///< relay's PEM SubjectPublicKeyInfo
    relayed_message = 6,      ///< concatenated RSA-OAEP blocks for the recipient
    request_server_key = 7,   ///< empty
    keepalive = 9,            ///< empty
    sender_info = 10,         ///< IPv4(4) port(2) inner TLV
    client_connected = 11,    ///< IPv4(4) port(2)
    client_disconnected = 12, ///< IPv4(4) port(2)
    secure_hello = 13,        ///< version(1) aead(1) ephemeral(32) random(16) [cookie(17)]
    secure_cookie = 14,       ///< cookie(17) client_random(16)
    secure_server_hello = 15, ///< session_id(8) ephemeral(32) identity(32) signature(64)
    secure_client_auth = 16,  ///< session_id(8) AEAD(identity(32) signature(64)) tag(16)
    secure_record = 17,       ///< session_id(8) seq(8) AEAD(inner TLV) tag(16)
    secure_deliver = 18,      ///< inside a record: family(1) address(16) port(2) identity fingerprint(32) message
    secure_presence = 19,     ///< inside a record: kind(1) family(1) address(16) port(2) identity fingerprint(32)
    secure_accept = 20,       ///< inside a record: flags(1)
    secure_message = 21,      ///< a client's message blob: the message
    secure_connect = 22,      ///< a client's message blob: joins the group (empty)
    secure_disconnect = 23,   ///< a client's message blob: leaves the group (empty)
    secure_key_update = 24,   ///< inside a record: the relay asks the client for a new handshake (empty)
    group_join = 25,          ///< group profile, client blob: mode(1) key package [admission cert]
    group_leave = 26,         ///< group profile, client blob: leaves the group (empty)
    group_presence = 27,      ///< group profile, relay blob: kind(1) address(19) fingerprint(32) [join value]
    group_commit = 28,        ///< group profile, forwarded: a signed epoch change (docs/PROTOCOL.md)
    group_welcome = 29,       ///< group profile, forwarded: one page of the new epoch's roster
    group_message = 30,       ///< group profile, forwarded: group_id(16) epoch(8) sender(2) generation(4) AEAD
    group_sync = 31,          ///< group profile, client blob: epoch(8): the relay resends later commits
    group_batch = 32,         ///< group profile, forwarded: GROUP_MESSAGE's header, AEAD over several messages
    repair_data = 33,         ///< repairing fragmenter: stream(4) seq(4) one inner datagram (a TLV)
    repair_nack = 34,         ///< repairing fragmenter: stream(4) then 1..64 ranges first(4) count(2)
    repair_tail = 35,         ///< repairing fragmenter: stream(4) next(4): every seq below next was sent
    repair_gone = 36,         ///< repairing fragmenter: stream(4) first(4) count(4): cannot be repaired
    repair_ack = 37,          ///< repairing fragmenter: stream(4) next(4): every seq below next was delivered
    repair_parity = 38,       ///< repairing fragmenter, FEC: stream(4) first(4) count(1) index(1) symbol
    repair_start = 39,        ///< repairing fragmenter, relay to a joiner: stream(4) next(4): its part begins at next
    secure_part = 40,         ///< a client's message blob: one part of a large message: msg_id(4) total(4) offset(4) bytes
    secure_deliver_part = 41, ///< inside a record: SECURE_DELIVER's sender and identity, then one part (as SECURE_PART)
    group_part = 42,          ///< group profile, forwarded: GROUP_MESSAGE's format over one part of a large message
    secure_batch = 43,        ///< a secure client's message blob: count(2) then count entries length(2) message
    secure_deliver_batch = 44, ///< inside a record: SECURE_DELIVER's sender and identity, then SECURE_BATCH's value
};

/// Who may put a type on the wire, and where. A bit set.
enum class origin : std::uint8_t {
    none = 0,
    client = 1,   ///< outer TLV of a datagram sent by a client
    relay = 2,    ///< outer TLV of a datagram sent by the relay
    nested = 4,   ///< inside another TLV's value (a blob or a wrapper), never outermost
};

constexpr origin operator|(origin a, origin b) noexcept
{
    return static_cast<origin>(static_cast<std::uint8_t>(a) | static_cast<std::uint8_t>(b));
}

constexpr bool allows(origin set, origin o) noexcept
{
    return (static_cast<std::uint8_t>(set) & static_cast<std::uint8_t>(o)) != 0;
}

/// One row of the type table.
struct type_info {
    tlv_type type;
    std::string_view name;
    std::uint16_t min_length; ///< smallest valid value length
    std::uint16_t max_length; ///< largest valid value length
    origin senders;
};

inline constexpr std::size_t fragment_header_size = 8;
inline constexpr std::size_t address_port_size = 6;
/// The secure profile's address (wire/address.hpp): family(1) address(16, IPv4 v4-mapped) port(2).
inline constexpr std::size_t tagged_address_size = 1 + 16 + 2;
/// RSA ciphertext sizes the seed profile accepts: 2048-bit keys per the profile, up to 4096 for users who configure larger keys.
inline constexpr std::uint16_t min_rsa_block = 256, max_rsa_block = 512;
/// PEM SubjectPublicKeyInfo of an RSA key of 2048..4096 bits fits in these bounds.
inline constexpr std::uint16_t min_pem_key = 64, max_pem_key = 2048;
/// Secure profile sizes (docs/PROTOCOL.md, "Types"): the hello without and with its cookie, the
/// cookie message, the server hello, the client auth, a record's fixed part (session_id, seq, tag)
/// and the fixed parts of SECURE_DELIVER and SECURE_PRESENCE.
inline constexpr std::uint16_t secure_hello_size = 1 + 1 + 32 + 16, secure_cookie_size = 17;
inline constexpr std::uint16_t secure_cookie_message_size = secure_cookie_size + 16;
inline constexpr std::uint16_t secure_server_hello_size = 8 + 32 + 32 + 64;
inline constexpr std::uint16_t secure_client_auth_size = 8 + 32 + 64 + 16;
inline constexpr std::uint16_t secure_record_fixed_size = 8 + 8 + 16;
inline constexpr std::uint16_t secure_deliver_fixed_size = tagged_address_size + 32;
inline constexpr std::uint16_t secure_presence_size = 1 + tagged_address_size + 32;
/// Group profile sizes (docs/PROTOCOL.md, "Group profile"): a key package, an admission
/// certificate, GROUP_JOIN without and with one, GROUP_PRESENCE's fixed part, the fixed parts of a
/// commit, a welcome page and a message (its header, AEAD tag and the signature inside).
inline constexpr std::uint16_t group_key_package_size = 32 + 32 + 4 + 64, group_cert_size = 64;
inline constexpr std::uint16_t group_join_min = 1 + group_key_package_size, group_join_max = group_join_min + group_cert_size;
inline constexpr std::uint16_t group_presence_fixed = 1 + tagged_address_size + 32;
inline constexpr std::uint16_t group_commit_min = 1 + 16 + 8 + 32 + 32 + 2 + 2 + 2 + 32 + 32 + 2 + 1 + 64;
inline constexpr std::uint16_t group_welcome_min = 16 + 8 + 2 + 2;
/// Repair sizes (docs/PROTOCOL.md, "Repair"): a stream and sequence header, one NACK range, the
/// most ranges one NACK carries.
inline constexpr std::uint16_t repair_header_size = 4 + 4, repair_range_size = 4 + 2, repair_max_ranges = 64;
/// REPAIR_PARITY: stream, first, count, index; its symbol holds at least a length prefix and the
/// smallest TLV (a data symbol is length(2) + one datagram, zero-padded).
inline constexpr std::uint16_t repair_parity_header_size = 4 + 4 + 1 + 1, repair_parity_min_symbol = 2 + 4;
inline constexpr std::uint16_t group_message_header = 16 + 8 + 2 + 4, group_message_min = group_message_header + 64 + 16;
/// A large message's part (wire/large_part.hpp): msg_id(4) total(4) offset(4), then its bytes.
inline constexpr std::uint16_t large_part_header_size = 4 + 4 + 4;
/// A secure batch (profile/secure/batch.hpp): count(2), then entries of length(2) and a message;
/// the smallest holds one empty entry.
inline constexpr std::uint16_t secure_batch_count_size = 2, secure_batch_entry_overhead = 2;
inline constexpr std::uint16_t secure_batch_min = secure_batch_count_size + secure_batch_entry_overhead;

/// The registry, sorted by type. Parsing consults it through find_type().
inline constexpr std::array type_table{
    type_info{tlv_type::fragment, "FRAGMENT", fragment_header_size, 0xffff, origin::client},
    type_info{tlv_type::encrypted_block, "ENCRYPTED_BLOCK", min_rsa_block, max_rsa_block, origin::nested},
    type_info{tlv_type::register_public_key, "REGISTER_PUBLIC_KEY", min_pem_key, max_pem_key, origin::client},
    type_info{tlv_type::server_public_key, "SERVER_PUBLIC_KEY", min_pem_key, max_pem_key, origin::relay},
    type_info{tlv_type::relayed_message, "RELAYED_MESSAGE", min_rsa_block, 0xffff, origin::relay | origin::nested},
    type_info{tlv_type::request_server_key, "REQUEST_SERVER_KEY", 0, 0, origin::client},
    type_info{tlv_type::keepalive, "KEEPALIVE", 0, 0, origin::client},
    type_info{tlv_type::sender_info, "SENDER_INFO", address_port_size + 4, 0xffff, origin::relay},
    type_info{tlv_type::client_connected, "CLIENT_CONNECTED", address_port_size, address_port_size, origin::relay},
    type_info{tlv_type::client_disconnected, "CLIENT_DISCONNECTED", address_port_size, address_port_size, origin::relay},
    type_info{tlv_type::secure_hello, "SECURE_HELLO", secure_hello_size, secure_hello_size + secure_cookie_size,
              origin::client},
    type_info{tlv_type::secure_cookie, "SECURE_COOKIE", secure_cookie_message_size, secure_cookie_message_size,
              origin::relay},
    type_info{tlv_type::secure_server_hello, "SECURE_SERVER_HELLO", secure_server_hello_size,
              secure_server_hello_size, origin::relay},
    type_info{tlv_type::secure_client_auth, "SECURE_CLIENT_AUTH", secure_client_auth_size, secure_client_auth_size,
              origin::client},
    type_info{tlv_type::secure_record, "SECURE_RECORD", secure_record_fixed_size + 4, 0xffff,
              origin::client | origin::relay},
    type_info{tlv_type::secure_deliver, "SECURE_DELIVER", secure_deliver_fixed_size, 0xffff, origin::nested},
    type_info{tlv_type::secure_presence, "SECURE_PRESENCE", secure_presence_size, secure_presence_size,
              origin::nested},
    type_info{tlv_type::secure_accept, "SECURE_ACCEPT", 1, 1, origin::nested},
    type_info{tlv_type::secure_message, "SECURE_MESSAGE", 0, 0xffff, origin::nested},
    type_info{tlv_type::secure_connect, "SECURE_CONNECT", 0, 0, origin::nested},
    type_info{tlv_type::secure_disconnect, "SECURE_DISCONNECT", 0, 0, origin::nested},
    type_info{tlv_type::secure_key_update, "SECURE_KEY_UPDATE", 0, 0, origin::nested},
    type_info{tlv_type::group_join, "GROUP_JOIN", group_join_min, group_join_max, origin::nested},
    type_info{tlv_type::group_leave, "GROUP_LEAVE", 0, 0, origin::nested},
    type_info{tlv_type::group_presence, "GROUP_PRESENCE", group_presence_fixed, group_presence_fixed + group_join_max,
              origin::nested},
    type_info{tlv_type::group_commit, "GROUP_COMMIT", group_commit_min, 0xffff, origin::nested},
    type_info{tlv_type::group_welcome, "GROUP_WELCOME", group_welcome_min, 0xffff, origin::nested},
    type_info{tlv_type::group_message, "GROUP_MESSAGE", group_message_min, 0xffff, origin::nested},
    type_info{tlv_type::group_sync, "GROUP_SYNC", 8, 8, origin::nested},
    type_info{tlv_type::group_batch, "GROUP_BATCH", group_message_min + 2, 0xffff, origin::nested},
    type_info{tlv_type::repair_data, "REPAIR_DATA", repair_header_size + 4, 0xffff, origin::client | origin::relay},
    type_info{tlv_type::repair_nack, "REPAIR_NACK", 4 + repair_range_size, 4 + repair_max_ranges * repair_range_size,
              origin::client | origin::relay},
    type_info{tlv_type::repair_tail, "REPAIR_TAIL", repair_header_size, repair_header_size, origin::client | origin::relay},
    type_info{tlv_type::repair_gone, "REPAIR_GONE", repair_header_size + 4, repair_header_size + 4,
              origin::client | origin::relay},
    type_info{tlv_type::repair_ack, "REPAIR_ACK", repair_header_size, repair_header_size, origin::client | origin::relay},
    type_info{tlv_type::repair_parity, "REPAIR_PARITY", repair_parity_header_size + repair_parity_min_symbol, 0xffff,
              origin::client | origin::relay},
    type_info{tlv_type::repair_start, "REPAIR_START", repair_header_size, repair_header_size, origin::relay},
    type_info{tlv_type::secure_part, "SECURE_PART", large_part_header_size, 0xffff, origin::nested},
    type_info{tlv_type::secure_deliver_part, "SECURE_DELIVER_PART", secure_deliver_fixed_size + large_part_header_size,
              0xffff, origin::nested},
    type_info{tlv_type::group_part, "GROUP_PART", group_message_min + large_part_header_size, 0xffff, origin::nested},
    type_info{tlv_type::secure_batch, "SECURE_BATCH", secure_batch_min, 0xffff, origin::nested},
    type_info{tlv_type::secure_deliver_batch, "SECURE_DELIVER_BATCH", secure_deliver_fixed_size + secure_batch_min,
              0xffff, origin::nested},
};

namespace detail {
constexpr bool table_is_consistent() noexcept
{
    for (std::size_t i = 0; i < type_table.size(); ++i) {
        const auto& t = type_table[i];
        if (t.min_length > t.max_length || t.name.empty() || t.senders == origin::none)
            return false;
        if (i > 0 && static_cast<std::uint16_t>(type_table[i - 1].type) >= static_cast<std::uint16_t>(t.type))
            return false; // sorted and free of duplicates
        if (t.type == tlv_type{2} || t.type == tlv_type{8})
            return false; // unassigned by the seed profile
    }
    return true;
}
} // namespace detail

static_assert(detail::table_is_consistent(), "tlvcast type table: must be sorted, free of duplicates, with min <= max");

namespace detail {
// Types below this value are found through a dense index (one byte each) instead of a search:
// find_type() runs once per TLV on the parser's hot path.
inline constexpr std::size_t dense_type_limit = 64;

constexpr std::array<std::uint8_t, dense_type_limit> make_dense_index() noexcept
{
    std::array<std::uint8_t, dense_type_limit> index{}; // 0 = unknown, else row + 1
    for (std::size_t i = 0; i < type_table.size(); ++i)
        if (static_cast<std::uint16_t>(type_table[i].type) < dense_type_limit)
            index[static_cast<std::uint16_t>(type_table[i].type)] = static_cast<std::uint8_t>(i + 1);
    return index;
}
inline constexpr auto dense_index = make_dense_index();
static_assert(type_table.size() < 255, "the dense index stores row + 1 in a byte");

constexpr const type_info* search_type(std::uint16_t raw) noexcept
{
    std::size_t lo = 0, hi = type_table.size();
    while (lo < hi) {
        const std::size_t mid = (lo + hi) / 2;
        const auto t = static_cast<std::uint16_t>(type_table[mid].type);
        if (t == raw)
            return &type_table[mid];
        if (t < raw)
            lo = mid + 1;
        else
            hi = mid;
    }
    return nullptr;
}
} // namespace detail

/// The table row of a type, or nullptr when the type is unknown. constexpr, O(1) for types
/// below 64 and O(log n) above; thread-safe (reads constant data only).
constexpr const type_info* find_type(std::uint16_t raw) noexcept
{
    if (raw < detail::dense_type_limit) {
        const std::uint8_t row = detail::dense_index[raw];
        return row ? &type_table[row - 1u] : nullptr;
    }
    return detail::search_type(raw);
}

constexpr const type_info* find_type(tlv_type t) noexcept { return find_type(static_cast<std::uint16_t>(t)); }

namespace detail {
// Every enumerator, listed once more: the table must hold a row for each (and nothing else).
inline constexpr std::array all_types{
    tlv_type::fragment,           tlv_type::encrypted_block,    tlv_type::register_public_key,
    tlv_type::server_public_key,  tlv_type::relayed_message,    tlv_type::request_server_key,
    tlv_type::keepalive,          tlv_type::sender_info,        tlv_type::client_connected,
    tlv_type::client_disconnected, tlv_type::secure_hello,       tlv_type::secure_cookie,
    tlv_type::secure_server_hello, tlv_type::secure_client_auth, tlv_type::secure_record,
    tlv_type::secure_deliver,     tlv_type::secure_presence,    tlv_type::secure_accept,
    tlv_type::secure_message,     tlv_type::secure_connect,     tlv_type::secure_disconnect,
    tlv_type::secure_key_update,  tlv_type::group_join,         tlv_type::group_leave,
    tlv_type::group_presence,     tlv_type::group_commit,       tlv_type::group_welcome,
    tlv_type::group_message,      tlv_type::group_sync,         tlv_type::group_batch,
    tlv_type::repair_data,        tlv_type::repair_nack,        tlv_type::repair_tail,
    tlv_type::repair_gone,        tlv_type::repair_ack,         tlv_type::repair_parity,
    tlv_type::repair_start,       tlv_type::secure_part,        tlv_type::secure_deliver_part,
    tlv_type::group_part,         tlv_type::secure_batch,       tlv_type::secure_deliver_batch,
};

constexpr bool lookup_is_consistent() noexcept
{
    for (const auto t : all_types)
        if (!find_type(t) || find_type(t)->type != t)
            return false;
    // The dense index and the search must agree on every small type, known or not.
    for (std::uint16_t raw = 0; raw < dense_type_limit; ++raw)
        if (find_type(raw) != search_type(raw))
            return false;
    return true;
}
} // namespace detail

static_assert(detail::all_types.size() == type_table.size(), "tlvcast type table: one row per tlv_type");
static_assert(detail::lookup_is_consistent(), "tlvcast type table: find_type must return each type's own row");
// The seed profile's fixed shapes (docs/PROTOCOL.md "Seed profile", "TLV types").
static_assert(find_type(tlv_type::keepalive)->max_length == 0 && find_type(tlv_type::request_server_key)->max_length == 0,
              "KEEPALIVE and REQUEST_SERVER_KEY are empty");
static_assert(find_type(tlv_type::client_connected)->min_length == address_port_size &&
                  find_type(tlv_type::client_disconnected)->max_length == address_port_size,
              "presence notices carry exactly an IPv4 address and a port");
static_assert(find_type(tlv_type::sender_info)->min_length == address_port_size + 4,
              "SENDER_INFO must hold an address, a port and an inner TLV header");
static_assert(find_type(tlv_type::fragment)->min_length == fragment_header_size,
              "a FRAGMENT value starts with msg_id, seq and total");
static_assert(find_type(tlv_type::encrypted_block)->min_length <= 256 && find_type(tlv_type::encrypted_block)->max_length >= 256,
              "ENCRYPTED_BLOCK must admit a 2048-bit RSA ciphertext");
static_assert(allows(find_type(tlv_type::relayed_message)->senders, origin::nested) &&
                  !allows(find_type(tlv_type::sender_info)->senders, origin::nested),
              "RELAYED_MESSAGE nests inside SENDER_INFO; SENDER_INFO itself never nests");
static_assert(find_type(2) == nullptr && find_type(8) == nullptr && find_type(45) == nullptr && find_type(0xffff) == nullptr);
// The secure profile's fixed shapes (docs/PROTOCOL.md, "Types").
static_assert(find_type(tlv_type::secure_hello)->min_length == 50 && find_type(tlv_type::secure_hello)->max_length == 67,
              "SECURE_HELLO is 50 bytes, 67 with its cookie");
static_assert(find_type(tlv_type::secure_cookie)->min_length == 33 && find_type(tlv_type::secure_server_hello)->min_length == 136 &&
                  find_type(tlv_type::secure_client_auth)->max_length == 120,
              "SECURE_COOKIE 33, SECURE_SERVER_HELLO 136, SECURE_CLIENT_AUTH 120 bytes");
static_assert(find_type(tlv_type::secure_record)->min_length == 36 && find_type(tlv_type::secure_deliver)->min_length == 51 &&
                  find_type(tlv_type::secure_presence)->max_length == 52 && find_type(tlv_type::secure_accept)->max_length == 1,
              "a record holds at least an inner TLV header; DELIVER, PRESENCE and ACCEPT as in PROTOCOL.md");
static_assert(allows(find_type(tlv_type::secure_record)->senders, origin::client) &&
                  allows(find_type(tlv_type::secure_record)->senders, origin::relay) &&
                  !allows(find_type(tlv_type::secure_accept)->senders, origin::relay) &&
                  !allows(find_type(tlv_type::secure_presence)->senders, origin::relay) &&
                  !allows(find_type(tlv_type::secure_deliver)->senders, origin::relay) &&
                  !allows(find_type(tlv_type::secure_key_update)->senders, origin::relay),
              "records travel both ways; what they carry is never accepted outside one");
static_assert(find_type(tlv_type::secure_batch)->min_length == 4 && find_type(tlv_type::secure_deliver_batch)->min_length == 55 &&
                  find_type(tlv_type::secure_batch)->senders == origin::nested &&
                  find_type(tlv_type::secure_deliver_batch)->senders == origin::nested,
              "a batch holds at least a count and one empty entry, and travels only inside records");

/// The type's name, or "UNKNOWN".
constexpr std::string_view type_name(std::uint16_t raw) noexcept
{
    const auto* t = find_type(raw);
    return t ? t->name : std::string_view{"UNKNOWN"};
}

} // namespace tlvcast::wire
