// SPDX-License-Identifier: BSL-1.0
// Tests for include/tlvcast/fragment/concepts.hpp: the smallest models of `fragmenter`, and near misses.
#include <tlvcast/fragment/concepts.hpp>

#include "fragment/helpers.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <cstddef>
#include <span>
#include <string_view>
#include <system_error>
#include <vector>

using namespace tlvcast;
using tlvcast::fragment::fragmenter;

namespace {

// The archetype: the least a type needs to model `fragmenter`, doing nothing.
struct archetype {
    struct limits_type {};
    struct stats_type {};
    void split(std::span<const std::byte>, const endpoint&, time_point, datagram_batch&, std::error_code&) {}
    bool reassemble(const endpoint&, std::span<const std::byte>, time_point, datagram_batch&, std::vector<std::byte>&,
                    std::error_code&)
    {
        return false;
    }
    void on_timer(time_point, datagram_batch&) {}
    time_point next_timer() const { return no_timer; }
    void forget(const endpoint&) {}
    stats_type stats() const { return {}; }
};
static_assert(fragmenter<archetype>);

// Near misses: each lacks one requirement, and the concept notices.
struct mutable_next_timer {
    struct limits_type {};
    struct stats_type {};
    void split(std::span<const std::byte>, const endpoint&, time_point, datagram_batch&, std::error_code&) {}
    bool reassemble(const endpoint&, std::span<const std::byte>, time_point, datagram_batch&, std::vector<std::byte>&,
                    std::error_code&)
    {
        return false;
    }
    void on_timer(time_point, datagram_batch&) {}
    time_point next_timer() { return no_timer; } // not const
    void forget(const endpoint&) {}
    stats_type stats() const { return {}; }
};
struct split_returns_size : archetype {
    std::size_t split(std::span<const std::byte>, const endpoint&, time_point, datagram_batch&, std::error_code&)
    {
        return 0;
    }
};
// The concept before repairing fragmenters: split() without the time, reassemble() without an
// output batch (an ACK could only wait for the next on_timer()).
struct split_without_time : archetype {
    void split(std::span<const std::byte>, const endpoint&, datagram_batch&, std::error_code&) {}
};
struct reassemble_without_output : archetype {
    bool reassemble(const endpoint&, std::span<const std::byte>, time_point, std::vector<std::byte>&, std::error_code&)
    {
        return false;
    }
};
struct no_forget {
    struct limits_type {};
    struct stats_type {};
    void split(std::span<const std::byte>, const endpoint&, time_point, datagram_batch&, std::error_code&) {}
    bool reassemble(const endpoint&, std::span<const std::byte>, time_point, datagram_batch&, std::vector<std::byte>&,
                    std::error_code&)
    {
        return false;
    }
    void on_timer(time_point, datagram_batch&) {}
    time_point next_timer() const { return no_timer; }
    stats_type stats() const { return {}; }
};
static_assert(!fragmenter<mutable_next_timer>);
static_assert(!fragmenter<split_returns_size>);
static_assert(!fragmenter<split_without_time>);
static_assert(!fragmenter<reassemble_without_output>);
static_assert(!fragmenter<no_forget>);
static_assert(!fragmenter<int>);

// A minimal working model: the whole message in one datagram, no limits, no state.
struct whole_message {
    struct limits_type {};
    struct stats_type {
        std::size_t sent = 0;
    };
    void split(std::span<const std::byte> m, const endpoint& to, time_point, datagram_batch& out, std::error_code& ec)
    {
        ec = {};
        out.push(to, m);
        ++stats_.sent;
    }
    bool reassemble(const endpoint&, std::span<const std::byte> v, time_point, datagram_batch&,
                    std::vector<std::byte>& m, std::error_code& ec)
    {
        ec = {};
        m.assign(v.begin(), v.end());
        return true;
    }
    void on_timer(time_point, datagram_batch&) {}
    time_point next_timer() const { return no_timer; }
    void forget(const endpoint&) {}
    stats_type stats() const { return stats_; }
    stats_type stats_;
};
static_assert(fragmenter<whole_message>);

// Generic code written against the concept alone: send one message through a fragmenter pair.
// For whole_message the "datagram" is the value itself.
template <fragmenter F>
std::vector<std::vector<std::byte>> deliver(F& tx, F& rx, std::span<const std::byte> message)
{
    datagram_batch out;
    std::error_code ec;
    tx.split(message, test::peer(1), time_point{}, out, ec);
    std::vector<std::vector<std::byte>> delivered;
    std::vector<std::byte> buffer;
    datagram_batch control;
    for (std::size_t i = 0; i < out.size(); ++i)
        if (rx.reassemble(test::peer(1), out[i].bytes, time_point{}, control, buffer, ec))
            delivered.push_back(buffer);
    rx.on_timer(rx.next_timer(), control);
    rx.forget(test::peer(1));
    return delivered;
}

} // namespace

TEST_CASE("fragmenter archetype: generic code runs on the smallest models", "[fragment][archetype]")
{
    archetype a, b;
    const std::string_view text = "hello";
    CHECK(deliver(a, b, wire::as_bytes(text)).empty());

    whole_message tx, rx;
    const auto got = deliver(tx, rx, wire::as_bytes(text));
    REQUIRE(got.size() == 1);
    CHECK(std::ranges::equal(got[0], wire::as_bytes(text)));
    CHECK(tx.stats().sent == 1);
}
