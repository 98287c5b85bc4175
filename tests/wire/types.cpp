// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/wire/types.hpp: the type table against the seed profile (docs/PROTOCOL.md), and find_type().
#include <tlvcast/wire/types.hpp>

#include <catch2/catch.hpp>

#include <cstdint>
#include <set>
#include <string_view>

using namespace tlvcast::wire;

namespace {
// The seed profile's table, typed in again from docs/PROTOCOL.md "Seed profile" ("TLV types"), so that a changed
// row in types.hpp fails here.
struct expected_row {
    std::uint16_t type;
    std::string_view name;
    std::uint16_t min, max;
    origin senders;
};
constexpr expected_row seed_rows[] = {
    {1, "FRAGMENT", 8, 0xffff, origin::client},
    {3, "ENCRYPTED_BLOCK", 256, 512, origin::nested},
    {4, "REGISTER_PUBLIC_KEY", 64, 2048, origin::client},
    {5, "SERVER_PUBLIC_KEY", 64, 2048, origin::relay},
    {6, "RELAYED_MESSAGE", 256, 0xffff, origin::relay | origin::nested},
    {7, "REQUEST_SERVER_KEY", 0, 0, origin::client},
    {9, "KEEPALIVE", 0, 0, origin::client},
    {10, "SENDER_INFO", 10, 0xffff, origin::relay},
    {11, "CLIENT_CONNECTED", 6, 6, origin::relay},
    {12, "CLIENT_DISCONNECTED", 6, 6, origin::relay},
    // The secure profile's rows, typed in again from docs/PROTOCOL.md ("Secure profile", "Types").
    {13, "SECURE_HELLO", 50, 67, origin::client},
    {14, "SECURE_COOKIE", 33, 33, origin::relay},
    {15, "SECURE_SERVER_HELLO", 136, 136, origin::relay},
    {16, "SECURE_CLIENT_AUTH", 120, 120, origin::client},
    {17, "SECURE_RECORD", 36, 0xffff, origin::client | origin::relay},
    {18, "SECURE_DELIVER", 51, 0xffff, origin::nested},
    {19, "SECURE_PRESENCE", 52, 52, origin::nested},
    {20, "SECURE_ACCEPT", 1, 1, origin::nested},
    {21, "SECURE_MESSAGE", 0, 0xffff, origin::nested},
    {22, "SECURE_CONNECT", 0, 0, origin::nested},
    {23, "SECURE_DISCONNECT", 0, 0, origin::nested},
    {24, "SECURE_KEY_UPDATE", 0, 0, origin::nested},
    // The group profile's rows, typed in again from docs/PROTOCOL.md ("Group profile").
    {25, "GROUP_JOIN", 133, 197, origin::nested},
    {26, "GROUP_LEAVE", 0, 0, origin::nested},
    {27, "GROUP_PRESENCE", 52, 249, origin::nested},
    {28, "GROUP_COMMIT", 226, 0xffff, origin::nested},
    {29, "GROUP_WELCOME", 28, 0xffff, origin::nested},
    {30, "GROUP_MESSAGE", 110, 0xffff, origin::nested},
    {31, "GROUP_SYNC", 8, 8, origin::nested},
    {32, "GROUP_BATCH", 112, 0xffff, origin::nested},
    // The repairing fragmenter's rows (docs/PROTOCOL.md, "Repair"): inner TLVs of either side.
    {33, "REPAIR_DATA", 12, 0xffff, origin::client | origin::relay},
    {34, "REPAIR_NACK", 10, 388, origin::client | origin::relay},
    {35, "REPAIR_TAIL", 8, 8, origin::client | origin::relay},
    {36, "REPAIR_GONE", 12, 12, origin::client | origin::relay},
    {37, "REPAIR_ACK", 8, 8, origin::client | origin::relay},
    {38, "REPAIR_PARITY", 16, 0xffff, origin::client | origin::relay},
    {39, "REPAIR_START", 8, 8, origin::relay}, // relay to a joining member, in its records
    // Large messages' parts (docs/PROTOCOL.md, "Large messages"): blobs, never outermost.
    {40, "SECURE_PART", 12, 0xffff, origin::nested},
    {41, "SECURE_DELIVER_PART", 63, 0xffff, origin::nested},
    {42, "GROUP_PART", 122, 0xffff, origin::nested},
    // Secure batches (docs/PROTOCOL.md, "Batches: SECURE_BATCH"): count and one empty entry at least.
    {43, "SECURE_BATCH", 4, 0xffff, origin::nested},
    {44, "SECURE_DELIVER_BATCH", 55, 0xffff, origin::nested},
};
} // namespace

TEST_CASE("types: the table holds exactly the seed, secure, group and repair rows", "[wire][types]")
{
    REQUIRE(type_table.size() == std::size(seed_rows));
    for (const auto& want : seed_rows) {
        INFO("type " << want.type);
        const type_info* row = find_type(want.type);
        REQUIRE(row != nullptr);
        CHECK(static_cast<std::uint16_t>(row->type) == want.type);
        CHECK(row->name == want.name);
        CHECK(row->min_length == want.min);
        CHECK(row->max_length == want.max);
        CHECK(row->senders == want.senders);
        CHECK(type_name(want.type) == want.name);
    }
}

TEST_CASE("types: enumerator values are the wire numbers", "[wire][types]")
{
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::fragment) == 1);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::encrypted_block) == 3);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::register_public_key) == 4);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::server_public_key) == 5);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::relayed_message) == 6);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::request_server_key) == 7);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::keepalive) == 9);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::sender_info) == 10);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::client_connected) == 11);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::client_disconnected) == 12);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::secure_hello) == 13);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::secure_record) == 17);
    STATIC_REQUIRE(static_cast<std::uint16_t>(tlv_type::secure_accept) == 20);
    STATIC_REQUIRE(sizeof(tlv_type) == 2);
}

TEST_CASE("types: find_type agrees with a linear scan for every 16-bit value", "[wire][types]")
{
    std::set<std::uint16_t> known;
    for (const auto& row : type_table)
        known.insert(static_cast<std::uint16_t>(row.type));
    std::size_t found = 0;
    for (std::uint32_t raw = 0; raw <= 0xffff; ++raw) {
        const auto r = static_cast<std::uint16_t>(raw);
        const type_info* row = find_type(r);
        if (known.count(r)) {
            REQUIRE(row != nullptr);
            REQUIRE(static_cast<std::uint16_t>(row->type) == r);
            ++found;
        } else {
            REQUIRE(row == nullptr);
            REQUIRE(type_name(r) == "UNKNOWN");
        }
    }
    CHECK(found == type_table.size());
    CHECK(find_type(tlv_type::sender_info) == find_type(std::uint16_t{10}));
}

TEST_CASE("types: unassigned 2 and 8 stay unknown", "[wire][types]")
{
    CHECK(find_type(2) == nullptr);
    CHECK(find_type(8) == nullptr);
    CHECK(find_type(0) == nullptr);
    CHECK(find_type(45) == nullptr);
    CHECK(find_type(43) == find_type(tlv_type::secure_batch));
    CHECK(type_name(8) == "UNKNOWN");
}

TEST_CASE("types: origin set operations", "[wire][types]")
{
    const origin both = origin::relay | origin::nested;
    CHECK(allows(both, origin::relay));
    CHECK(allows(both, origin::nested));
    CHECK_FALSE(allows(both, origin::client));
    CHECK_FALSE(allows(origin::none, origin::client));
    CHECK(allows(origin::client | origin::relay | origin::nested, origin::client));
    STATIC_REQUIRE(allows(origin::client | origin::relay, origin::relay));
}

TEST_CASE("types: sorted, no duplicates, min <= max, everything named and sendable", "[wire][types]")
{
    for (std::size_t i = 0; i < type_table.size(); ++i) {
        const auto& row = type_table[i];
        CHECK(row.min_length <= row.max_length);
        CHECK_FALSE(row.name.empty());
        CHECK(row.senders != origin::none);
        if (i > 0)
            CHECK(static_cast<std::uint16_t>(type_table[i - 1].type) < static_cast<std::uint16_t>(row.type));
    }
    STATIC_REQUIRE(detail::table_is_consistent());
}
