// SPDX-License-Identifier: BSL-1.0
// Whatever a Fragmenter appends, from split() and reassemble() too, leaves once inside a record (secure, opaque).
#include "core/opaque_cipher.hpp"

#include "core/policy_sim.hpp"

#include <tlvcast/core/client_engine.hpp>
#include <tlvcast/core/relay_engine.hpp>
#include <tlvcast/profile/secure/cipher.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/fragment/seed_fragmenter.hpp>
#include <tlvcast/wire/detail/endian.hpp>

#include <catch2/catch.hpp>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

using namespace tlvcast;
using namespace std::chrono_literals;

namespace {

struct probe_stats {
    fragment::seed_fragmenter_stats seed;
    std::uint64_t from_split = 0, from_reassemble = 0, malformed = 0;
    std::vector<std::pair<std::uint32_t, endpoint>> sent; ///< PROBE serials, and where to
    std::vector<std::uint32_t> received;                  ///< PROBE serials
};

/// The seed fragmenter plus a PROBE control TLV (0x7f21, a u32 serial unique per run) that it
/// appends from split() (one to the previous split's destination before the message, when that
/// was another, and one to `to` after it) and from reassemble() (to the fragment's sender).
/// Received PROBEs are recorded, never answered. Not thread-safe.
class probe_fragmenter {
public:
    using limits_type = fragment::limits;
    using stats_type = probe_stats;
    static constexpr std::uint16_t probe_type = 0x7f21;

    probe_fragmenter(std::uint32_t node, std::uint64_t seed, std::size_t fragment_size, std::size_t max_whole)
        : inner_(seed, {}, fragment_size, max_whole), next_serial_(node << 20)
    {
    }

    static constexpr bool handles(wire::tlv_type type) noexcept { return static_cast<std::uint16_t>(type) == probe_type; }

    void split(std::span<const std::byte> message, const endpoint& to, time_point now, datagram_batch& out,
               std::error_code& ec)
    {
        if (last_to_ && *last_to_ != to)
            probe(*last_to_, out, stats_.from_split);
        inner_.split(message, to, now, out, ec);
        probe(to, out, stats_.from_split);
        last_to_ = to;
    }

    bool reassemble(const endpoint& from, std::span<const std::byte> value, time_point now, datagram_batch& out,
                    std::vector<std::byte>& message, std::error_code& ec)
    {
        const bool done = inner_.reassemble(from, value, now, out, message, ec);
        probe(from, out, stats_.from_reassemble);
        return done;
    }

    void on_timer(time_point now, datagram_batch& out) { inner_.on_timer(now, out); }
    time_point next_timer() const noexcept { return inner_.next_timer(); }
    void forget(const endpoint& peer) { inner_.forget(peer); }

    bool handle_control(const endpoint&, const wire::tlv& t, time_point, datagram_batch&, std::vector<std::byte>&,
                        std::error_code& ec)
    {
        ec = {};
        if (t.value.size() != 4) {
            ++stats_.malformed;
            ec = errc::malformed;
            return false;
        }
        stats_.received.push_back(wire::detail::load_u32(t.value.data()));
        return false;
    }

    /// A copy, serials included: for tests only.
    stats_type stats() const
    {
        stats_type s = stats_;
        s.seed = inner_.stats();
        return s;
    }

private:
    void probe(const endpoint& to, datagram_batch& out, std::uint64_t& counter)
    {
        std::array<std::byte, 4> v{};
        wire::detail::store_u32(v.data(), next_serial_);
        stats_.sent.emplace_back(next_serial_++, to);
        const std::size_t m = out.mark();
        std::error_code ec;
        wire::tlv_appender(out.bytes()).put(probe_type, v, ec);
        out.commit(to, m);
        ++counter;
    }

    fragment::seed_fragmenter inner_;
    std::uint32_t next_serial_;
    std::optional<endpoint> last_to_;
    stats_type stats_;
};

static_assert(fragment::control_fragmenter<probe_fragmenter>);
static_assert(!wire::find_type(probe_fragmenter::probe_type), "the PROBE type must stay unknown to the type table");

constexpr std::size_t client_count = 3;
constexpr std::uint32_t relay_node = 100;

std::uint16_t outer_type(std::span<const std::byte> d) { return d.size() >= 2 ? wire::detail::load_u16(d.data()) : 0; }

std::string make_text(std::size_t sender, std::size_t size)
{
    std::string s(size, '\0');
    for (std::size_t i = 0; i < size; ++i)
        s[i] = static_cast<char>('a' + (i * 7 + sender) % 26);
    return s;
}

// ---- the secure profile: reseal, a split per recipient ----

// A seeded random source: the run depends on the seed only.
using sec = profile::secure::basic_cipher<crypto::default_suite, crypto::default_aes256_gcm,
                                          crypto::seeded_random<crypto::default_suite>>;
using secure_client = core::client_engine<sec, probe_fragmenter>;
using secure_relay = core::relay_engine<sec, probe_fragmenter>;
using secure_net = test::policy_net<secure_client, secure_relay>;

sec make_secure(std::uint8_t id, std::uint64_t seed)
{
    std::array<std::byte, 32> key_seed{};
    key_seed.fill(static_cast<std::byte>(id));
    return sec(crypto::ed25519_from_seed<crypto::default_suite>(key_seed), {},
               crypto::seeded_random<crypto::default_suite>(seed));
}

std::unique_ptr<secure_net> make_secure_net(std::uint64_t seed)
{
    sec rc = make_secure(100, seed * 100);
    probe_fragmenter rf(relay_node, seed * 1000, rc.fragment_payload(), rc.max_whole());
    auto net = std::make_unique<secure_net>(std::make_unique<secure_relay>(std::move(rc), std::move(rf)),
                                            secure_net::options{seed, {}});
    core::client_options copt;
    copt.relay = secure_net::group;
    copt.trust = crypto::relay_trust::any();
    for (std::size_t i = 0; i < client_count; ++i) {
        sec c = make_secure(static_cast<std::uint8_t>(i + 1), seed * 100 + i + 1);
        probe_fragmenter f(static_cast<std::uint32_t>(i + 1), seed * 1000 + i + 1, c.fragment_payload(), c.max_whole());
        net->add_client(std::make_unique<secure_client>(std::move(c), std::move(f), copt));
    }
    net->start_all();
    net->run_for(100ms);
    return net;
}

// ---- opaque forwarding: one split for every recipient ----

using opaque_client = core::client_engine<test::opaque_cipher, probe_fragmenter>;
using opaque_relay = core::relay_engine<test::opaque_cipher, probe_fragmenter>;
using opaque_net = test::policy_net<opaque_client, opaque_relay>;

test::opaque_key key_of(std::uint8_t k)
{
    test::opaque_key key{};
    key.fill(static_cast<std::byte>(k));
    return key;
}

std::unique_ptr<opaque_net> make_opaque_net(std::uint64_t seed)
{
    test::opaque_options ro;
    ro.relay_key = key_of(1);
    ro.seed = seed * 100;
    test::opaque_cipher rc(ro);
    const std::size_t payload = rc.fragment_payload(), whole = rc.max_whole();
    auto net = std::make_unique<opaque_net>(
        std::make_unique<opaque_relay>(std::move(rc), probe_fragmenter(relay_node, seed * 1000, payload, whole)),
        opaque_net::options{seed, {}});
    core::client_options copt;
    copt.relay = opaque_net::group;
    for (std::size_t i = 0; i < client_count; ++i) {
        test::opaque_options co;
        co.relay_key = key_of(1);
        co.group_key = key_of(2);
        co.self = opaque_net::client_address(i);
        co.seed = seed * 100 + i + 1;
        net->add_client(std::make_unique<opaque_client>(
            test::opaque_cipher(co),
            probe_fragmenter(static_cast<std::uint32_t>(i + 1), seed * 1000 + i + 1, payload, whole), copt));
    }
    net->start_all();
    net->run_for(100ms);
    return net;
}

// Sends messages of every shape from every client; checks each was shown once to every other
// client, and that every PROBE any fragmenter appended was received exactly once (so each went
// under the right hop's record layer, to one destination) and none travelled outside a record.
template <class Net>
void check_exchange(Net& net, std::size_t whole_size)
{
    const std::size_t sizes[] = {whole_size, 1300, 5000}; // whole, then FRAGMENTs
    std::map<std::string, std::size_t> sent;
    for (std::size_t from = 0; from < client_count; ++from)
        for (const std::size_t size : sizes) {
            const std::string text = make_text(from, size);
            std::error_code ec;
            net.send(from, wire::as_bytes(text), ec);
            REQUIRE_FALSE(ec);
            sent[text] = from;
            net.run_for(20ms);
        }
    net.run_for(200ms);

    for (std::size_t i = 0; i < client_count; ++i) {
        std::map<std::string, int> got;
        for (const auto& e : net.events(i))
            if (e.what == core::client_event::kind::message)
                ++got[e.text];
        for (const auto& [text, from] : sent) {
            INFO("client " << i << " from " << from << " size " << text.size());
            CHECK(got[text] == (from == i ? 0 : 1));
        }
        CHECK(net.client(i).counters().get(core::client_counter::undecryptable) == 0);
        CHECK(net.client(i).counters().get(core::client_counter::unexpected_type) == 0);
        CHECK(net.client(i).counters().get(core::client_counter::send_errors) == 0);
    }
    CHECK(net.relay().counters().get(core::relay_counter::undecryptable) == 0);
    CHECK(net.relay().counters().get(core::relay_counter::unexpected_type) == 0);
    CHECK(net.relay().counters().get(core::relay_counter::send_errors) == 0);

    // Every PROBE sent was received once, by the node it was addressed to (a client's go to the
    // relay, whether to the group or, answering forwarded FRAGMENTs, to the relay's address
    // without a port); none travelled outside a record.
    std::multimap<std::uint32_t, std::size_t> expected, received; // serial -> node (client_count: the relay)
    const auto add = [&](const probe_stats& s, std::size_t node) {
        for (const auto& [serial, to] : s.sent) {
            std::size_t dest = client_count;
            for (std::size_t i = 0; i < client_count; ++i)
                dest = to == Net::client_address(i) ? i : dest;
            expected.emplace(serial, dest);
        }
        for (const auto serial : s.received)
            received.emplace(serial, node);
    };
    for (std::size_t i = 0; i < client_count; ++i)
        add(net.client(i).fragmenter().stats(), i);
    const probe_stats rs = net.relay().fragmenter_stats();
    add(rs, client_count);
    CHECK(expected.size() > 0);
    CHECK(received == expected);
    for (const auto& d : net.sent)
        CHECK(outer_type(d.bytes) != probe_fragmenter::probe_type);
    CHECK(rs.from_split > 0);
    CHECK(rs.from_reassemble > 0);
    CHECK(rs.malformed == 0);
}

} // namespace

TEST_CASE("fragmenter output: the secure profile's engines protect what split() and reassemble() append, each under "
          "its destination's session",
          "[core][control][sim]")
{
    auto net = make_secure_net(3);
    for (std::size_t i = 0; i < client_count; ++i)
        REQUIRE(net->client(i).current_state() == secure_client::state::established);
    check_exchange(*net, 100);
    // Only the handshake leaves outside records.
    for (const auto& d : net->sent) {
        using t = wire::tlv_type;
        const auto type = static_cast<t>(outer_type(d.bytes));
        CHECK((type == t::secure_record || type == t::secure_hello || type == t::secure_cookie ||
               type == t::secure_server_hello || type == t::secure_client_auth));
    }
}

TEST_CASE("fragmenter output: with opaque forwarding, the relay sends a split's control datagrams once inside a "
          "record, and forwards only the message's datagrams to every recipient",
          "[core][control][opaque][sim]")
{
    auto net = make_opaque_net(5);
    for (std::size_t i = 0; i < client_count; ++i)
        REQUIRE(net->client(i).current_state() == opaque_client::state::established);
    // The relay's forwarding calls: its split's PROBEs are among the message's datagrams; what
    // leaves bare must be the message's datagrams only, each to every other client.
    std::size_t forwards = 0;
    net->on_output = [&](const endpoint& node, test::sim_call call, const datagram_batch& out) {
        if (node != opaque_net::relay_address || call != test::sim_call::handle)
            return;
        std::map<const std::byte*, std::size_t> recipients;
        for (std::size_t i = 0; i < out.size(); ++i) {
            const auto type = outer_type(out[i].bytes);
            CHECK(type != probe_fragmenter::probe_type);
            if (type != test::opaque_type::record)
                ++recipients[out[i].bytes.data()];
        }
        for (const auto& [buffer, count] : recipients)
            CHECK(count == client_count - 1);
        forwards += recipients.empty() ? 0 : 1;
    };
    check_exchange(*net, 100);
    CHECK(forwards == client_count * 3);
}
