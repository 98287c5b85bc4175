// SPDX-License-Identifier: BSL-1.0
// The steps of the engines' one pipeline that both engines share: record protection of a batch of
// inner datagrams, and the classification of an inner TLV.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <cstddef>
#include <functional>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::core::detail {

/// Where an inner TLV (inside a record, or outer without a record layer) goes.
enum class route { fragment, fragmenter_control, keepalive, cipher };

template <class Fragmenter>
constexpr route route_of(wire::tlv_type type) noexcept
{
    if (type == wire::tlv_type::fragment)
        return route::fragment;
    if (fragment::handles_control<Fragmenter>(type))
        return route::fragmenter_control;
    if (type == wire::tlv_type::keepalive)
        return route::keepalive;
    return route::cipher;
}

/// The largest blob a Fragmenter sends in one datagram: its max_whole() (a blob that leaves whole)
/// or its fragment_size() (a blob that is one FRAGMENT), whichever is larger; a wrapping
/// Fragmenter (the repairing one) answers for its inner one. 0 when it does not say.
template <class Fragmenter>
std::size_t one_datagram_blob(const Fragmenter& f) noexcept
{
    if constexpr (requires { f.inner(); })
        return one_datagram_blob(f.inner());
    else if constexpr (requires { f.max_whole(); f.fragment_size(); })
        return std::max<std::size_t>(f.max_whole(), f.fragment_size());
    else
        return 0;
}

/// Appends `inner` (one inner datagram) to `out` for `to`: inside a record of `session` when the
/// Cipher has a record layer, as it is otherwise. `record` is a reused buffer. Returns false when
/// the record layer refused (errors in `ec`: not_ready, key_exhausted ...), appending nothing.
template <class Cipher, class Session>
bool protect_one(Cipher& cipher, Session& session, const endpoint& to, std::span<const std::byte> inner,
                 std::vector<std::byte>& record, datagram_batch& out, std::error_code& ec)
{
    ec = {};
    if constexpr (Cipher::has_record_layer) {
        // Sealed straight into the batch where the Cipher can (one copy of each record fewer),
        // unless `inner` views the batch itself (its storage may move as the record grows it).
        if constexpr (requires { cipher.protect_append(session, inner, out.bytes(), ec); }) {
            const auto& b = out.bytes();
            const std::less<const std::byte*> before; // a total order, even between unrelated arrays
            const bool aliases = !inner.empty() && !b.empty() && !before(inner.data(), b.data()) &&
                                 before(inner.data(), b.data() + b.size());
            if (!aliases) {
                const std::size_t m = out.mark();
                cipher.protect_append(session, inner, out.bytes(), ec);
                if (ec)
                    return false;
                out.commit(to, m);
                return true;
            }
        }
        cipher.protect(session, inner, record, ec);
        if (ec)
            return false;
        out.push(to, record);
    } else {
        (void)cipher;
        (void)session;
        (void)record;
        out.push(to, inner);
    }
    return true;
}

} // namespace tlvcast::core::detail
