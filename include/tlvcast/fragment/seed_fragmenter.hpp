// SPDX-License-Identifier: BSL-1.0
// The seed profile's Fragmenter: FRAGMENT (type 1) datagrams of at most 256 payload bytes, bounded reassembly.
#pragma once

#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/fragment/concepts.hpp>
#include <tlvcast/fragment/detail/msg_id.hpp>
#include <tlvcast/fragment/reassembler.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstdint>
#include <random>
#include <span>
#include <stdexcept>
#include <system_error>
#include <vector>

namespace tlvcast::fragment {

/// A source of msg_ids: constructed from a 64-bit seed, next() yields the id of the next message.
/// A model must not return the same id twice in a row.
template <class S>
concept msg_id_source = std::constructible_from<S, std::uint64_t> && requires(S& s) {
    { s.next() } -> std::same_as<std::uint32_t>;
};

/// The default msg_id source: a seeded permutation of a counter; an id repeats only after 2^32
/// messages of one instance (see detail::permuted_counter for why not a plain PRNG).
using msg_id_generator = detail::permuted_counter;
static_assert(msg_id_source<msg_id_generator>);

/// Counters of a seed fragmenter: its own for split(), its reassembler's for the rest.
struct seed_fragmenter_stats {
    std::uint64_t messages_split = 0;    ///< split() calls that succeeded
    std::uint64_t fragments_split = 0;   ///< datagrams appended by split()
    std::uint64_t split_too_large = 0;   ///< split() calls refused with errc::message_too_large
    reassembly_stats reassembly;         ///< see reassembler
};

/// The seed profile's Fragmenter (docs/PROTOCOL.md "Seed profile", "Sending a message" steps 4-6 and the relay's
/// type-1 handling). split() cuts a sealed blob into FRAGMENT TLVs of at most fragment_size()
/// payload bytes (256 by default; the secure profile uses about 1200), seq = 0..total-1, one
/// datagram each, all with one fresh msg_id. reassemble(), on_timer(), next_timer() and forget()
/// are those of a fragment::reassembler with this instance's limits. The seed profile has no
/// repair: it appends no control datagram, and split() ignores the time.
///
/// MsgIdSource picks msg_ids (msg_id_generator by default). Construct with a seed for
/// reproducible ids (tests, simulations); the other constructors seed from std::random_device.
///
/// Not thread-safe: the engine that owns it serialises calls.
template <msg_id_source MsgIdSource = msg_id_generator>
class basic_seed_fragmenter {
public:
    using limits_type = ::tlvcast::fragment::limits;
    using stats_type = seed_fragmenter_stats;
    using msg_id_source_type = MsgIdSource;

    /// The seed profile's FRAGMENT_SIZE.
    static constexpr std::size_t default_fragment_size = 256;
    /// The largest payload whose FRAGMENT datagram still fits one IPv4 UDP datagram (65,507 bytes).
    static constexpr std::size_t max_fragment_size = 65'507 - wire::tlv_header_size - wire::fragment_header_size;
    /// The largest UDP payload over IPv4.
    static constexpr std::size_t max_datagram = 65'507;
    /// `total` is a u16.
    static constexpr std::size_t max_fragments = 0xffff;

    /// Default limits and fragment size; msg_ids seeded from std::random_device.
    basic_seed_fragmenter() : basic_seed_fragmenter(limits_type{}) {}

    /// msg_ids seeded from std::random_device. Throws std::invalid_argument for a fragment_size
    /// outside 1..max_fragment_size or invalid limits.
    explicit basic_seed_fragmenter(const limits_type& lim, std::size_t fragment_size = default_fragment_size,
                                   std::size_t max_whole = 0)
        : basic_seed_fragmenter(detail::random_seed(), lim, fragment_size, max_whole)
    {
    }

    /// msg_ids from MsgIdSource(seed): the same seed gives the same ids. Throws
    /// std::invalid_argument for a fragment_size outside 1..max_fragment_size or invalid limits.
    /// `max_whole`: a message that is one TLV of at most this many bytes leaves whole, without a
    /// FRAGMENT header (0 by default: the seed client always fragments).
    explicit basic_seed_fragmenter(std::uint64_t seed, const limits_type& lim = {},
                                   std::size_t fragment_size = default_fragment_size, std::size_t max_whole = 0)
        : ids_(seed), reassembler_(lim), fragment_size_(fragment_size), max_whole_(max_whole)
    {
        if (fragment_size < 1 || fragment_size > max_fragment_size)
            throw std::invalid_argument("tlvcast::fragment::basic_seed_fragmenter: fragment_size must be in 1..65495");
    }

    /// Appends to `out` the FRAGMENT datagrams (to `to`) that carry `message`, built in place in
    /// the batch's buffer. An empty message is one fragment with an empty payload. Takes a fresh
    /// msg_id per successful call. A message that is already one whole datagram leaves as it is:
    /// one TLV that the type table allows as a datagram's outer TLV (the seed relay's SENDER_INFO
    /// and presence), or one TLV of at most max_whole bytes. Error: message_too_large when more
    /// than 65,535 fragments would be needed (nothing appended). May throw std::bad_alloc.
    /// `message` must not view `out`. `now` is unused (nothing to stamp without repair).
    void split(std::span<const std::byte> message, const endpoint& to, time_point now, datagram_batch& out,
               std::error_code& ec)
    {
        (void)now;
        ec = {};
        if (is_whole(message)) {
            out.push(to, message);
            ++messages_split_;
            ++fragments_split_;
            return;
        }
        const std::size_t count = message.empty() ? 1 : (message.size() - 1) / fragment_size_ + 1;
        if (count > max_fragments) {
            ec = errc::message_too_large;
            ++split_too_large_;
            return;
        }
        const auto total = static_cast<std::uint16_t>(count);
        const std::uint32_t msg_id = ids_.next();
        wire::tlv_appender appender(out.bytes());
        for (std::size_t seq = 0; seq < count; ++seq) {
            const std::size_t offset = seq * fragment_size_;
            const auto payload = message.subspan(offset, std::min(fragment_size_, message.size() - offset));
            const std::size_t mark = out.mark();
            // Cannot fail: seq < total, and the payload fits one TLV (fragment_size checked).
            wire::append_fragment(appender, msg_id, static_cast<std::uint16_t>(seq), total, payload, ec);
            out.commit(to, mark);
        }
        ++messages_split_;
        fragments_split_ += count;
    }

    /// See reassembler::reassemble(). Nothing is appended to `out` (no ACKs or NACKs).
    bool reassemble(const endpoint& from, std::span<const std::byte> fragment_value, time_point now,
                    datagram_batch& out, std::vector<std::byte>& message, std::error_code& ec)
    {
        (void)out;
        return reassembler_.reassemble(from, fragment_value, now, message, ec);
    }

    /// Drops timed-out incomplete messages (counted). The seed profile has no repair: nothing is
    /// appended to `out`.
    void on_timer(time_point now, datagram_batch& out)
    {
        (void)out;
        reassembler_.on_timer(now);
    }

    /// The earliest reassembly deadline, or tlvcast::no_timer.
    time_point next_timer() const noexcept { return reassembler_.next_timer(); }

    /// Drops all reassembly state of `peer`.
    void forget(const endpoint& peer) { reassembler_.forget(peer); }
    /// Drops one incomplete message of `peer`.
    void forget(const endpoint& peer, std::uint32_t msg_id) { reassembler_.forget(peer, msg_id); }

    stats_type stats() const noexcept
    {
        return {messages_split_, fragments_split_, split_too_large_, reassembler_.stats()};
    }

    std::size_t fragment_size() const noexcept { return fragment_size_; }
    const limits_type& limits() const noexcept { return reassembler_.limits(); }
    /// The reassembly state, for its gauges (buffered_bytes(), messages_in_flight()).
    const reassembler& reassembly() const noexcept { return reassembler_; }

    std::size_t max_whole() const noexcept { return max_whole_; }

private:
    bool is_whole(std::span<const std::byte> message) const noexcept
    {
        if (message.size() > max_datagram)
            return false;
        wire::tlv_reader r(message);
        wire::tlv t;
        std::error_code ec;
        if (!r.next(t, ec) || !r.done())
            return false;
        if (message.size() <= max_whole_)
            return true;
        const auto* info = t.info();
        return info && t.type() != wire::tlv_type::fragment &&
               (wire::allows(info->senders, wire::origin::client) || wire::allows(info->senders, wire::origin::relay));
    }


    MsgIdSource ids_;
    reassembler reassembler_;
    std::size_t fragment_size_;
    std::size_t max_whole_;
    std::uint64_t messages_split_ = 0, fragments_split_ = 0, split_too_large_ = 0;
};

/// The seed profile's fragmenter with the default msg_id source.
using seed_fragmenter = basic_seed_fragmenter<>;

static_assert(fragmenter<seed_fragmenter>, "seed_fragmenter must model tlvcast::fragment::fragmenter");

} // namespace tlvcast::fragment
