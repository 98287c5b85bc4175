// SPDX-License-Identifier: BSL-1.0
// The secure profile's key usage limits in force, and the relay's queue of SECURE_KEY_UPDATE requests.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/profile/secure/options.hpp>
#include <tlvcast/profile/secure/record.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure {

/// The limits an instance enforces: `Aead`'s own, lowered by `o` where it asks. Throws
/// std::invalid_argument for a limit above the AEAD's, a rekey fraction outside (0, 1) or with a
/// denominator above 2^32, or a rekey threshold below 2 records.
template <class Aead>
key_limits make_key_limits(const options& o)
{
    const auto pick = [](std::uint64_t wanted, std::uint64_t aead_max) {
        if (wanted > aead_max)
            throw std::invalid_argument("tlvcast::secure: a key limit above the AEAD's own");
        return wanted == options::aead_limit ? aead_max : wanted;
    };
    if (o.rekey_numerator == 0 || o.rekey_numerator >= o.rekey_denominator)
        throw std::invalid_argument("tlvcast::secure: the rekey fraction must be in (0, 1)");
    // max % d * n < d * d: exact in 64 bits only for d <= 2^32 (a larger d overflowed into a
    // threshold of 1, a re-handshake after every record).
    if (o.rekey_denominator > (std::uint64_t{1} << 32))
        throw std::invalid_argument("tlvcast::secure: the rekey denominator must be at most 2^32");
    key_limits l;
    l.max_records = pick(o.max_records_per_key, Aead::max_records_per_key);
    l.max_failed_opens = pick(o.max_failed_opens_per_key, Aead::max_failed_opens_per_key);
    const std::uint64_t n = o.rekey_numerator, d = o.rekey_denominator;
    l.rekey_at = l.max_records / d * n + l.max_records % d * n / d; // no overflow for large limits
    // Each side spends seq 0 of a new session on the handshake (CLIENT_AUTH, ACCEPT): a threshold
    // of 1 or less makes every new session due for new keys at once, a handshake storm.
    if (l.rekey_at < 2)
        throw std::invalid_argument("tlvcast::secure: the record limit and rekey fraction leave no record per key");
    l.rekey_step = std::max<std::uint64_t>(1, (l.max_records - l.rekey_at) / 8);
    return l;
}

/// The relay's SECURE_KEY_UPDATE requests: queued from any thread (protect, unprotect), sent from
/// the engine's timer, each under the session it was asked for.
template <class Aead>
class key_update_queue {
public:
    using session_type = session<Aead>;

    void ask(const std::shared_ptr<session_type>& s, const endpoint& to)
    {
        std::lock_guard lock(mu_);
        queue_.push_back({s, to});
    }

    bool empty() const
    {
        std::lock_guard lock(mu_);
        return queue_.empty();
    }

    /// Appends SECURE_RECORD(SECURE_KEY_UPDATE) for every request whose session still lives.
    void send(datagram_batch& out, std::uint64_t max_records)
    {
        std::vector<request> due;
        {
            std::lock_guard lock(mu_);
            due.swap(queue_);
        }
        std::array<std::byte, wire::tlv_header_size> update{};
        std::error_code put_ec; // cannot fail: an empty value in a buffer of its size
        wire::tlv_writer(update).put(wire::tlv_type::secure_key_update, {}, put_ec);
        for (const auto& r : due) {
            const auto s = r.session.lock();
            if (!s)
                continue; // the client left meanwhile
            const std::size_t m = out.mark();
            std::error_code ec;
            {
                std::lock_guard lock(s->tx_mu);
                s->seal_record(update, out.bytes(), max_records, ec);
            }
            if (!ec)
                out.commit(r.to, m);
        }
    }

private:
    struct request {
        std::weak_ptr<session_type> session;
        endpoint to;
    };
    mutable std::mutex mu_;
    std::vector<request> queue_;
};

} // namespace tlvcast::profile::secure
