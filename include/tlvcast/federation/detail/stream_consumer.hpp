// SPDX-License-Identifier: BSL-1.0
// The NATS link's JetStream consumer (nats_options::jetstream): every stream sequence from the
// link's start delivered once and in order, across consumers re-created after a node died.
#pragma once

#include <tlvcast/federation/detail/nats_stream.hpp>

#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <thread>
#include <utility>

namespace tlvcast::federation::detail {

/// An ordered consumer of the group's stream. set_up() and tend() run on the link's publisher
/// thread; take() on libnats's delivery threads, under the link's reception lock (an old and a new
/// consumer may deliver at once).
class stream_consumer {
public:
    /// The link starts at `since` (UTC, ns since 1970; now by default): what any relay publishes from
    /// then on is delivered, even when it is stored before set_up() runs on the publisher thread.
    stream_consumer(jsCtx* js, std::string stream, std::string subject, natsMsgHandler cb, void* closure,
                    std::int64_t since = now_utc())
        : js_(js), stream_(std::move(stream)), subject_(std::move(subject)), cb_(cb), closure_(closure),
          since_(encodable_start(since))
    {
    }
    static std::int64_t now_utc()
    {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
            .count();
    }
    /// `t` or a little earlier, such that libnats sends it as it is. libnats 3.4 writes a start time's
    /// fraction of a second without its leading zeros (12.045 s goes out as 12.45 s), which started
    /// the consumer up to 0.9 s late, past what was stored meanwhile, in 1 run of 10. A fraction
    /// below 0.1 s is dropped (starting up to 0.1 s early delivers a little more, never less).
    static constexpr std::int64_t encodable_start(std::int64_t t) noexcept
    {
        constexpr std::int64_t second = 1'000'000'000, tenth = second / 10;
        const std::int64_t fraction = t % second;
        return fraction < tenth ? t - fraction : t;
    }
    stream_consumer(const stream_consumer&) = delete;
    stream_consumer& operator=(const stream_consumer&) = delete;
    ~stream_consumer() { drop(); }

    /// Until the stream exists (made when missing) and the consumer is subscribed, by time from the
    /// link's start (JetStream compares it with the stamps of its own clock: a skew between this
    /// host and the stream's leader moves the start by as much). False when `closed()` came
    /// first (the cluster may still elect its leader).
    template <class Closed>
    bool set_up(const stream_limits& limits, Closed closed)
    {
        while (!closed()) {
            if (ensure_stream(js_, stream_, subject_, limits)) {
                // Nothing counts as delivered yet (what was stored since the start still comes);
                // the watch waits for the stream to grow past what it holds now.
                floor_ = stream_last_seq(js_, stream_);
                if (resubscribe())
                    return true;
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        return false;
    }

    /// Between publications: once a second, a consumer that delivered nothing while the stream grew
    /// past what it delivered is re-created (it lived on a node that died: seen to stall for good
    /// without this); so is one after `again` (a reconnection), retried until it works.
    void tend(std::atomic<bool>& again)
    {
        const auto now = std::chrono::steady_clock::now();
        if (now >= next_watch_) {
            next_watch_ = now + std::chrono::seconds(1);
            const std::uint64_t delivered = last_seq_.load();
            if (stream_last_seq(js_, stream_) > std::max(delivered, floor_) && delivered == watched_seq_)
                again = true;
            watched_seq_ = delivered;
        }
        if (again.exchange(false) && !resubscribe()) {
            again = true; // the stream may have no leader yet: again in a moment
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
    }

    /// The stream sequence of `msg` when it was not delivered yet (it then counts as delivered),
    /// else 0 (a repeat, or not a stream message: nothing to order it by).
    std::uint64_t take(natsMsg* msg)
    {
        jsMsgMetaData* meta = nullptr;
        if (natsMsg_GetMetaData(&meta, msg) != NATS_OK)
            return 0;
        const std::uint64_t seq = meta->Sequence.Stream;
        jsMsgMetaData_Destroy(meta);
        if (seq <= last_seq_)
            return 0;
        last_seq_ = seq;
        return seq;
    }

private:
    void drop()
    {
        if (sub_) {
            natsSubscription_Unsubscribe(sub_);
            natsSubscription_Destroy(std::exchange(sub_, nullptr));
        }
    }

    // A new ordered consumer from the sequence after the last one delivered (since_ before any).
    bool resubscribe()
    {
        drop();
        const std::uint64_t last = last_seq_.load();
        return subscribe_ordered(&sub_, js_, stream_, subject_, cb_, closure_, last == 0 ? 0 : last + 1, since_) == NATS_OK;
    }

    jsCtx* js_;
    std::string stream_, subject_;
    natsMsgHandler cb_;
    void* closure_;
    natsSubscription* sub_ = nullptr;
    std::int64_t since_;                                 // when the link started (ns since 1970)
    std::uint64_t floor_ = 0;                            // the stream's last sequence at set_up
    std::atomic<std::uint64_t> last_seq_{0};             // the last stream sequence delivered
    std::chrono::steady_clock::time_point next_watch_{}; // publisher thread only
    std::uint64_t watched_seq_ = 0;                      // last_seq_ at the previous watch
};

/// The JetStream deduplication id of the `n`th envelope a link publishes: its last 32 bytes (the
/// envelope's HMAC tag under the federation key) in hex, and n. A retry of the same envelope has the
/// same id; a NATS publisher without the key cannot predict it. (It was the relay id, public in every
/// envelope, and n: anyone who could publish on the subject could store junk under a relay's next
/// ids first, and the stream then dropped that relay's real envelopes as duplicates while the relay
/// counted them published. tests/federation/review_auth.cpp.)
inline std::string msg_id(std::span<const std::byte> envelope, std::uint64_t n)
{
    static constexpr char digits[] = "0123456789abcdef";
    std::string id;
    const std::size_t tag = envelope.size() < 32 ? envelope.size() : 32;
    for (const std::byte b : envelope.last(tag)) {
        id += digits[std::to_integer<unsigned>(b) >> 4];
        id += digits[std::to_integer<unsigned>(b) & 15];
    }
    return id + "-" + std::to_string(n);
}

} // namespace tlvcast::federation::detail
