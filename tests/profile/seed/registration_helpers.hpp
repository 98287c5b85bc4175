// SPDX-License-Identifier: BSL-1.0
// What the seed profile's registration tests (registration.cpp, review_registration.cpp) share: one
// definition each, so that the two files can also be compiled as one unity translation unit.
#pragma once

#include "core/sim.hpp"

#include <tlvcast/core/events.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <span>

namespace tlvcast::test::seed_registration {

/// The outer TLV type of a datagram (none for one shorter than a type).
inline wire::tlv_type type_of(std::span<const std::byte> b)
{
    return b.size() >= 2 ? static_cast<wire::tlv_type>(wire::detail::load_u16(b.data())) : wire::tlv_type{};
}

/// How often the relay announced client `i`'s CONNECT (a `connected` relay event).
inline std::size_t relay_connects(sim_network& net, std::size_t i)
{
    const auto& evs = net.relay_events();
    return static_cast<std::size_t>(std::count_if(evs.begin(), evs.end(), [&](const core::relay_event& e) {
        return e.what == core::relay_event::kind::connected && e.peer == client_address(i);
    }));
}

} // namespace tlvcast::test::seed_registration
