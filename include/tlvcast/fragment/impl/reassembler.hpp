// SPDX-License-Identifier: BSL-1.0
// Definitions of tlvcast::fragment::reassembler (included by fragment/reassembler.hpp).
#pragma once

#include <tlvcast/fragment/reassembler.hpp>

#include <algorithm>
#include <stdexcept>
#include <string>

namespace tlvcast::fragment {

inline reassembler::reassembler(const limits_type& lim) : limits_(lim)
{
    const auto require = [](bool ok, const char* what) {
        if (!ok)
            throw std::invalid_argument(std::string("tlvcast::fragment::reassembler: ") + what);
    };
    require(lim.max_fragments_per_message >= 1 && lim.max_fragments_per_message <= 0xffff,
            "max_fragments_per_message must be in 1..65535");
    // Offsets into a message buffer are 32-bit.
    require(lim.max_message_bytes >= 1 && lim.max_message_bytes < npos, "max_message_bytes must be in 1..2^32-2");
    require(lim.max_messages_per_sender >= 1, "max_messages_per_sender must be at least 1");
    require(lim.max_messages_in_flight >= 1 && lim.max_messages_in_flight < npos,
            "max_messages_in_flight must be in 1..2^32-2");
    require(lim.max_buffered_bytes >= 1, "max_buffered_bytes must be at least 1");
    require(lim.timeout > duration::zero(), "timeout must be positive");
    require(lim.completed_ids_per_sender >= 1, "completed_ids_per_sender must be at least 1");
    // Idle senders plus senders with messages in flight index the sender arena.
    require(lim.max_idle_senders >= 1 && lim.max_idle_senders < npos - lim.max_messages_in_flight - 1,
            "max_idle_senders must be at least 1 and fit the sender index");
}

inline bool reassembler::reassemble(const endpoint& from, std::span<const std::byte> fragment_value,
                                    time_point now, std::vector<std::byte>& message, std::error_code& ec)
{
    ++stats_.fragments_received;
    const wire::fragment f = wire::decode_fragment(fragment_value, ec);
    if (ec) {
        ++stats_.malformed;
        return false;
    }
    // Claims are checked against the limits before anything is looked up or stored.
    if (f.total > limits_.max_fragments_per_message) {
        ec = errc::fragment_limit;
        ++stats_.fragment_limit_drops;
        return false;
    }
    if (f.payload.size() > limits_.max_message_bytes) {
        ec = errc::reassembly_message_too_large;
        ++stats_.message_too_large_drops;
        return false;
    }

    std::uint32_t s = find_sender(from);
    if (s != npos) {
        if (const std::uint32_t m = find_message(s, f.msg_id); m != npos)
            return add_fragment(m, f, message, ec);
        if (was_completed(s, f.msg_id)) {
            ec = errc::duplicate_fragment;
            ++stats_.duplicates;
            return false;
        }
    }

    if (f.total == 1) {
        // A whole message in one fragment is delivered without being buffered.
        message.assign(f.payload.begin(), f.payload.end());
        s = ensure_sender(from);
        remember_completed(s, f.msg_id);
        settle_sender(s);
        ++stats_.fragments_accepted;
        ++stats_.messages_completed;
        return true;
    }

    if (s != npos && senders_[s].messages.size() >= limits_.max_messages_per_sender) {
        ec = errc::reassembly_sender_busy;
        ++stats_.sender_busy_drops;
        return false;
    }
    if (in_flight_ >= limits_.max_messages_in_flight) {
        ec = errc::reassembly_full;
        ++stats_.full_messages_drops;
        return false;
    }
    if (f.payload.size() > limits_.max_buffered_bytes - buffered_) {
        ec = errc::reassembly_full;
        ++stats_.full_bytes_drops;
        return false;
    }
    s = ensure_sender(from);
    const std::uint32_t m = open_message(s, f, now);
    store(messages_[m], f);
    return false;
}

inline bool reassembler::add_fragment(std::uint32_t m, const wire::fragment& f, std::vector<std::byte>& message,
                                      std::error_code& ec)
{
    message_state& st = messages_[m];
    if (f.total != st.total) {
        ec = errc::fragment_mismatch;
        ++stats_.mismatches;
        return false;
    }
    if (st.slots[f.seq].offset != npos) {
        ec = errc::duplicate_fragment;
        ++stats_.duplicates;
        return false;
    }
    if (f.payload.size() > limits_.max_message_bytes - st.data.size()) {
        // The message can never complete within the limit: free its memory now rather than at
        // its timeout.
        ec = errc::reassembly_message_too_large;
        ++stats_.message_too_large_drops;
        ++stats_.abandoned;
        release_message(m);
        return false;
    }
    if (f.payload.size() > limits_.max_buffered_bytes - buffered_) {
        ec = errc::reassembly_full;
        ++stats_.full_bytes_drops;
        return false;
    }
    store(st, f);
    if (st.received < st.total)
        return false;

    message.resize(st.data.size());
    std::byte* out = message.data();
    for (const slot& sl : st.slots)
        out = std::copy_n(st.data.data() + sl.offset, sl.length, out);
    remember_completed(st.sender, st.msg_id);
    ++stats_.messages_completed;
    release_message(m);
    return true;
}

inline std::uint32_t reassembler::open_message(std::uint32_t s, const wire::fragment& f, time_point now)
{
    std::uint32_t m = free_messages_;
    if (m != npos) {
        free_messages_ = messages_[m].next;
        if (free_messages_ == npos)
            free_tail_ = npos;
    } else {
        m = static_cast<std::uint32_t>(messages_.size());
        messages_.emplace_back();
    }
    message_state& st = messages_[m];
    if (st.pooled) {
        st.pooled = false;
        --pooled_;
    }
    st.msg_id = f.msg_id;
    st.total = f.total;
    st.received = 0;
    st.sender = s;
    st.data.clear();
    // Bounded by max_fragments_per_message, checked before we got here.
    st.slots.assign(f.total, slot{});

    // Deadlines must stay in list order even if the caller's clock steps back: a message then
    // lives slightly longer than its timeout, never shorter.
    const time_point latest = tail_ == npos ? time_point::min() : messages_[tail_].deadline;
    const time_point due = now > no_timer - limits_.timeout ? no_timer : now + limits_.timeout;
    st.deadline = std::max(due, latest);
    st.prev = tail_;
    st.next = npos;
    if (tail_ != npos)
        messages_[tail_].next = m;
    else
        head_ = m;
    tail_ = m;

    senders_[s].messages.push_back(m);
    ++in_flight_;
    settle_sender(s); // a sender with a message in flight leaves the idle list (never evicted)
    return m;
}

inline void reassembler::store(message_state& st, const wire::fragment& f)
{
    st.slots[f.seq] = {static_cast<std::uint32_t>(st.data.size()), static_cast<std::uint32_t>(f.payload.size())};
    st.data.insert(st.data.end(), f.payload.begin(), f.payload.end());
    buffered_ += f.payload.size();
    ++st.received;
    ++stats_.fragments_accepted;
}

inline void reassembler::release_message(std::uint32_t m)
{
    message_state& st = messages_[m];
    unlink_deadline(m);
    buffered_ -= st.data.size();
    --in_flight_;

    const std::uint32_t s = st.sender;
    auto& list = senders_[s].messages;
    const auto it = std::find(list.begin(), list.end(), m);
    *it = list.back();
    list.pop_back();

    // Keep a few buffers' capacity for the next messages; free the rest so that memory shrinks
    // back after a burst.
    // Pooled entries go to the front of the free list and emptied ones to the back, so that the
    // next message takes a pooled buffer.
    st.data.clear();
    st.sender = npos;
    if (pooled_ < limits_.pooled_buffers) {
        st.pooled = true;
        ++pooled_;
        st.next = free_messages_;
        free_messages_ = m;
        if (free_tail_ == npos)
            free_tail_ = m;
    } else {
        std::vector<std::byte>().swap(st.data);
        std::vector<slot>().swap(st.slots);
        st.next = npos;
        (free_tail_ != npos ? messages_[free_tail_].next : free_messages_) = m;
        free_tail_ = m;
    }

    settle_sender(s);
}

inline std::size_t reassembler::on_timer(time_point now)
{
    std::size_t dropped = 0;
    while (head_ != npos && messages_[head_].deadline <= now) {
        release_message(head_);
        ++stats_.timeouts;
        ++dropped;
    }
    return dropped;
}

inline bool reassembler::in_flight(const endpoint& from, std::uint32_t msg_id) const noexcept
{
    const std::uint32_t s = find_sender(from);
    return s != npos && find_message(s, msg_id) != npos;
}

inline void reassembler::unlink_deadline(std::uint32_t m) noexcept
{
    message_state& st = messages_[m];
    (st.prev != npos ? messages_[st.prev].next : head_) = st.next;
    (st.next != npos ? messages_[st.next].prev : tail_) = st.prev;
    st.prev = st.next = npos;
}

} // namespace tlvcast::fragment
