// SPDX-License-Identifier: BSL-1.0
// The adversarial reviews of the group relay's shared unicast stream share this: a roster group on
// the engine-level network with the relay's unicast fan-out, what each member sees of the shared
// stream, and authenticated NACKs from any client.
#pragma once

#include "profile/group/engine_net.hpp"
#include "secure/sim_helpers.hpp"

#include <tlvcast/fragment/nack_fragmenter.hpp>
#include <tlvcast/profile/group.hpp>
#include <tlvcast/wire/repair.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

namespace tlvcast::test::group {

using review_fanout_net = test::secure_net<profile::group::cipher, profile::group::cipher, fragment::nack_fragmenter>;
inline constexpr endpoint review_fanout_key = fragment::nack_fragmenter::unicast_fanout;

inline wire::tlv_type review_fanout_type(const test::wire_datagram& d)
{
    std::error_code ec;
    const wire::tlv t = wire::read_outer(d.bytes, ec);
    return ec ? wire::tlv_type{} : t.type();
}

// A roster group: `unicast` unicast members, then `multicast` members on the data group, then
// `strangers` registered clients whose identities are not on the roster. Formed without loss.
struct review_fanout_group {
    std::uint8_t members;
    profile::group::options opt;
    review_fanout_net net;
    std::uint32_t stream = 0, next_seq = 0; // the shared stream, as every unicast member sees it
    bool seen = false;
    bool drop_on = false;
    std::function<bool(const test::wire_datagram&)> drop; // a loss model, once drop_on

    review_fanout_group(std::size_t unicast, std::size_t multicast = 0, std::size_t strangers = 0, bool seal = false,
                        const fragment::repair_limits& rlim = {})
        : members(static_cast<std::uint8_t>(unicast + multicast)), opt(engine_roster(members)),
          net(profile::group::cipher(test::identity(200), engine_roster(members)), options(seal), rlim)
    {
        auto mopt = opt;
        mopt.mode = profile::group::delivery::multicast;
        net.data_group = mopt.data_group;
        for (std::size_t i = 0; i < unicast; ++i)
            net.add_client(profile::group::cipher(test::identity(static_cast<std::uint8_t>(i + 1)), opt));
        for (std::size_t i = unicast; i < unicast + multicast; ++i) {
            net.add_client(profile::group::cipher(test::identity(static_cast<std::uint8_t>(i + 1)), mopt));
            net.data_listeners.push_back(i);
        }
        for (std::size_t i = 0; i < strangers; ++i)
            net.add_client(profile::group::cipher(test::identity(static_cast<std::uint8_t>(150 + i)), opt));
        net.tap = [this](test::wire_datagram& d) {
            if (d.from == net.relay_address && review_fanout_type(d) == wire::tlv_type::repair_data) {
                std::error_code ec;
                const wire::tlv t = wire::read_outer(d.bytes, ec);
                const auto r = wire::decode_repair_data(t.value, ec);
                if (!ec && d.to == net.client_address(0)) {
                    stream = r.stream, seen = true;
                    next_seq = std::max(next_seq, r.seq + 1);
                }
            }
            return !(drop_on && drop && drop(d));
        };
        for (std::size_t i = 0; i < net.clients(); ++i) {
            net.start(i);
            net.run_for(std::chrono::milliseconds(200));
        }
        net.run_for(std::chrono::seconds(1));
        for (std::size_t i = 0; i < members; ++i) {
            REQUIRE(net.client(i).cipher().group().current());
            REQUIRE(net.client(i).cipher().group().current()->roster.size() == members);
        }
        for (std::size_t i = 0; i < net.clients(); ++i)
            (void)net.events(i);
        net.sent.clear();
    }
    static core::relay_options options(bool seal)
    {
        core::relay_options o;
        o.seal_unicast = seal;
        return o;
    }
    void say(std::size_t i, const std::string& text)
    {
        std::error_code ec;
        net.send(i, std::as_bytes(std::span(text)), ec);
        REQUIRE_FALSE(ec);
    }
    struct tally {
        std::vector<std::string> messages;
        std::size_t gaps = 0, unrecoverable = 0;
    };
    tally collect(std::size_t i)
    {
        tally t;
        for (auto& e : net.events(i)) {
            if (e.what == core::client_event::kind::message)
                t.messages.push_back(e.text);
            else if (e.what == core::client_event::kind::gap)
                ++t.gaps;
            else if (e.what == core::client_event::kind::unrecoverable)
                ++t.unrecoverable;
        }
        return t;
    }
    // An authenticated REPAIR_NACK from client i, sealed in its own record (a malicious member or
    // a registered stranger: the record layer vouches for its address, nothing more).
    void nack(std::size_t i, std::uint32_t id, const std::vector<wire::repair_range>& ranges)
    {
        std::vector<std::byte> inner, record;
        std::error_code ec;
        wire::append_repair_nack(inner, id, ranges, ec);
        REQUIRE_FALSE(ec);
        auto& c = net.client(i);
        c.cipher().protect(const_cast<profile::group::cipher::client_session&>(c.session()), inner, record, ec);
        REQUIRE_FALSE(ec);
        net.inject(net.client_address(i), net.relay_address, record);
    }
    // The relay's datagrams to client i since `from` (an index into net.sent) of one outer type.
    std::size_t to(std::size_t i, wire::tlv_type type, std::size_t from = 0) const
    {
        std::size_t n = 0;
        for (std::size_t k = from; k < net.sent.size(); ++k) {
            const auto& d = net.sent[k];
            n += d.from == net.relay_address && d.to == net.client_address(i) && review_fanout_type(d) == type;
        }
        return n;
    }
};

inline constexpr auto review_fanout_record = profile::group::cipher::record_type;

} // namespace tlvcast::test::group
