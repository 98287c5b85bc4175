// SPDX-License-Identifier: BSL-1.0
// The Cipher concepts: archetypes (the smallest types that model them) and near-misses that must not.
#include <tlvcast/crypto/concepts.hpp>

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/profile/seed/rsa_oaep.hpp>

#include <catch2/catch.hpp>

using namespace tlvcast;

namespace {

// Client side without a record layer: everything the client engine calls, and nothing more.
struct client_archetype {
    static constexpr bool has_record_layer = false;
    struct client_session {};
    void start_session(client_session&, const endpoint&, time_point, datagram_batch&) {}
    crypto::received client_receive(client_session&, const wire::tlv&, time_point, const crypto::relay_trust&,
                                    datagram_batch&, std::vector<std::byte>&, std::error_code&)
    {
        return {};
    }
    bool established(const client_session&) const { return false; }
    void seal(const client_session&, crypto::message_kind, std::span<const std::byte>, std::vector<std::byte>&,
              std::error_code&) const
    {
    }
};

// Relay side without a record layer, forwarding by open and reseal.
struct relay_archetype {
    static constexpr bool has_record_layer = false;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::reseal;
    struct peer_session {};
    bool relay_handshake(const endpoint&, const wire::tlv&, time_point, datagram_batch&, const peer_session*,
                         std::optional<peer_session>&, std::error_code&)
    {
        return false;
    }
    crypto::message_kind open(const peer_session&, std::span<const std::byte>, std::vector<std::byte>&,
                              std::error_code&) const
    {
        return crypto::message_kind::data;
    }
    void seal_relayed(const peer_session&, const peer_session&, const endpoint&, std::span<const std::byte>,
                      std::vector<std::byte>&, std::error_code&) const
    {
    }
    void presence(const peer_session&, bool, const peer_session*, const endpoint&, std::vector<std::byte>&,
                  std::error_code&) const
    {
    }
    std::optional<crypto::fingerprint> identity(const peer_session&) const { return std::nullopt; }
};

// Opaque forward: classify() instead of open() and seal_relayed().
struct relay_opaque_archetype {
    static constexpr bool has_record_layer = false;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
    struct peer_session {};
    bool relay_handshake(const endpoint&, const wire::tlv&, time_point, datagram_batch&, const peer_session*,
                         std::optional<peer_session>&, std::error_code&)
    {
        return false;
    }
    crypto::message_kind classify(const peer_session&, std::span<const std::byte>, std::error_code&) const
    {
        return crypto::message_kind::data;
    }
    void presence(const peer_session&, bool, const peer_session*, const endpoint&, std::vector<std::byte>&,
                  std::error_code&) const
    {
    }
    std::optional<crypto::fingerprint> identity(const peer_session&) const { return std::nullopt; }
};
struct opaque_without_classify : relay_opaque_archetype {
    crypto::message_kind classify() = delete;
};
struct reseal_without_forwarding {
    static constexpr bool has_record_layer = false;
    struct peer_session {};
    bool relay_handshake(const endpoint&, const wire::tlv&, time_point, datagram_batch&, const peer_session*,
                         std::optional<peer_session>&, std::error_code&)
    {
        return false;
    }
    void presence(const peer_session&, bool, const peer_session*, const endpoint&, std::vector<std::byte>&,
                  std::error_code&) const
    {
    }
    std::optional<crypto::fingerprint> identity(const peer_session&) const { return std::nullopt; }
};

// With a record layer, protect/unprotect and record_type become requirements.
struct client_record_archetype : client_archetype {
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type{17};
    void protect(client_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
    void unprotect(client_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
};
struct client_record_missing_unprotect : client_archetype {
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type{17};
    void protect(client_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
};
struct relay_record_archetype : relay_archetype {
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type{17};
    void unprotect(peer_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
    void protect(peer_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
};
struct relay_record_missing_protect : relay_archetype {
    static constexpr bool has_record_layer = true;
    static constexpr wire::tlv_type record_type = wire::tlv_type{17};
    void unprotect(peer_session&, std::span<const std::byte>, std::vector<std::byte>&, std::error_code&) {}
};

// Near-misses: one requirement each.
// Opaque forwarding on the client side adds the end-to-end check of forwarded blobs.
struct client_opaque_archetype : client_archetype {
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
    crypto::received client_forwarded(client_session&, const wire::tlv&, time_point, std::vector<std::byte>&,
                                      std::error_code&)
    {
        return {};
    }
};
struct client_opaque_without_check : client_archetype {
    static constexpr crypto::forwarding forwarding = crypto::forwarding::opaque;
};

struct client_without_seal : client_archetype {
    void seal() = delete;
};
struct relay_with_old_handshake : relay_archetype {
    bool relay_handshake(const endpoint&, const wire::tlv&, time_point, datagram_batch&, std::optional<peer_session>&,
                         std::error_code&) = delete;
    bool relay_handshake(const endpoint&, const wire::tlv&, time_point, datagram_batch&, const peer_session*,
                         std::optional<peer_session>&, std::error_code&) = delete;
};

} // namespace

TEST_CASE("crypto concepts: archetypes model them, near-misses do not", "[concepts]")
{
    STATIC_REQUIRE(crypto::client_cipher<client_archetype>);
    STATIC_REQUIRE(crypto::relay_cipher<relay_archetype>);
    STATIC_REQUIRE(crypto::client_cipher<client_record_archetype>);
    STATIC_REQUIRE(crypto::relay_cipher<relay_record_archetype>);
    STATIC_REQUIRE(crypto::relay_cipher<relay_opaque_archetype>);
    STATIC_REQUIRE(crypto::client_cipher<client_opaque_archetype>);
    STATIC_REQUIRE_FALSE(crypto::client_cipher<client_opaque_without_check>);
    STATIC_REQUIRE_FALSE(crypto::relay_cipher<opaque_without_classify>);
    STATIC_REQUIRE_FALSE(crypto::relay_cipher<reseal_without_forwarding>);
    STATIC_REQUIRE_FALSE(crypto::relay_cipher<relay_record_missing_protect>);
    STATIC_REQUIRE_FALSE(crypto::client_cipher<client_record_missing_unprotect>);
    STATIC_REQUIRE_FALSE(crypto::client_cipher<client_without_seal>);
    STATIC_REQUIRE_FALSE(crypto::relay_cipher<relay_with_old_handshake>);
    STATIC_REQUIRE_FALSE(crypto::client_cipher<relay_archetype>);
    STATIC_REQUIRE(crypto::client_cipher<seed::rsa_oaep> && crypto::relay_cipher<seed::rsa_oaep>);
}

TEST_CASE("crypto concepts: the engines accept the archetypes", "[concepts]")
{
    // The engines ask nothing beyond the concepts: their archetype instantiations compile and run.
    core::client_engine<client_archetype, fragment::seed_fragmenter> client(client_archetype{}, fragment::seed_fragmenter(1));
    core::relay_engine<relay_archetype, fragment::seed_fragmenter> relay(relay_archetype{}, fragment::seed_fragmenter(2));
    core::relay_engine<relay_opaque_archetype, fragment::seed_fragmenter> opaque(relay_opaque_archetype{},
                                                                                 fragment::seed_fragmenter(3));
    datagram_batch out;
    std::vector<core::relay_event> events;
    client.start(time_point{}, out);
    CHECK(client.current_state() == decltype(client)::state::registering);
    const std::byte keepalive[] = {std::byte{0}, std::byte{9}, std::byte{0}, std::byte{0}};
    relay.handle(endpoint{1, 2}, keepalive, time_point{}, out, events);
    CHECK(relay.counters().get(core::relay_counter::unregistered) == 1);
}
