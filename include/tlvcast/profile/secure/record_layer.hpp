// SPDX-License-Identifier: BSL-1.0
// The secure profile's record layer for each side: which session a record is sealed or opened
// under, and the key limits on the way (rekey thresholds, dead receive keys).
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/profile/secure/client_handshake.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/profile/secure/key_update.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/profile/secure/relay_handshake.hpp>
#include <tlvcast/wire/types.hpp>

#include <cstddef>
#include <memory>
#include <mutex>
#include <span>
#include <system_error>
#include <utility>
#include <vector>

/// Bodies of basic_cipher's protect() and unprotect(); see cipher.hpp for their contracts.
namespace tlvcast::profile::secure::records {

// The protect() bodies append the record to `record` (the engines seal straight into their
// outgoing batch); on error `record` is as it was.
template <class Aead>
void protect(client_session<Aead>& s, std::span<const std::byte> inner, std::vector<std::byte>& record,
             const key_limits& lim, std::error_code& ec)
{
    ec = {};
    if (!s.current) {
        ec = errc::not_ready;
        return;
    }
    s.current->seal_record(inner, record, lim.max_records, ec);
}

template <class Aead>
void unprotect(client_session<Aead>& s, std::span<const std::byte> value, std::vector<std::byte>& inner,
               const key_limits& lim, std::error_code& ec)
{
    ec = {};
    inner.clear();
    if (value.size() < wire::secure_record_fixed_size) {
        ec = errc::malformed;
        return;
    }
    const auto id = detail::read_session_id(value);
    session<Aead>* found = nullptr;
    for (auto* p : {s.current.get(), s.pending.get(), s.previous.get()})
        if (p && p->id == id) {
            found = p;
            break;
        }
    if (!found) {
        ec = errc::stale_session;
        return;
    }
    found->open_record(value, inner, lim.max_failed_opens, ec);
    if (!ec)
        s.last_opened = id;
}

template <class Aead>
void unprotect(const peer_session<Aead>& p, std::span<const std::byte> value, std::vector<std::byte>& inner,
               const key_limits& lim, key_update_queue<Aead>& updates, std::error_code& ec)
{
    ec = {};
    inner.clear();
    if (value.size() < wire::secure_record_fixed_size) {
        ec = errc::malformed;
        return;
    }
    const auto id = detail::read_session_id(value);
    for (const auto* sp : {&p.current, &p.previous}) {
        if (*sp && (*sp)->id == id) {
            bool report = false;
            {
                std::lock_guard lock((*sp)->rx_mu);
                (*sp)->open_record(value, inner, lim.max_failed_opens, ec);
                report = sp == &p.current && ec == errc::key_exhausted && !std::exchange((*sp)->dead_reported, true);
            }
            if (report)
                updates.ask(*sp, p.address);
            return;
        }
    }
    ec = errc::stale_session;
}

template <class Aead>
void protect(peer_session<Aead>& p, std::span<const std::byte> inner, std::vector<std::byte>& record,
             const key_limits& lim, key_update_queue<Aead>& updates, std::error_code& ec)
{
    ec = {};
    if (!p.current) {
        ec = errc::not_ready;
        return;
    }
    bool ask = false;
    {
        session<Aead>& s = *p.current;
        std::lock_guard lock(s.tx_mu);
        s.seal_record(inner, record, lim.max_records, ec);
        if (!ec && s.next_seq >= lim.rekey_at + s.updates_asked * lim.rekey_step) {
            ++s.updates_asked;
            ask = true;
        }
    }
    if (ask)
        updates.ask(p.current, p.address);
}

} // namespace tlvcast::profile::secure::records
