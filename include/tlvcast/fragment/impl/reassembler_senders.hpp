// SPDX-License-Identifier: BSL-1.0
// Definitions of tlvcast::fragment::reassembler's sender table: per-sender state, the idle list for eviction,
// and the recently completed ids that drop late duplicates (included by fragment/reassembler.hpp).
#pragma once

#include <tlvcast/fragment/reassembler.hpp>

#include <algorithm>

namespace tlvcast::fragment {

inline void reassembler::forget(const endpoint& peer)
{
    const std::uint32_t s = find_sender(peer);
    if (s == npos)
        return;
    // Keep the sender alive while its messages go (release_message settles it).
    auto& list = senders_[s].messages;
    while (!list.empty()) {
        const std::uint32_t m = list.back();
        ++stats_.forgotten;
        // Releasing the last message may erase or idle the sender: look it up again after.
        release_message(m);
        if (find_sender(peer) != s)
            return;
    }
    erase_sender(s);
}

inline void reassembler::forget(const endpoint& peer, std::uint32_t msg_id)
{
    const std::uint32_t s = find_sender(peer);
    const std::uint32_t m = s == npos ? npos : find_message(s, msg_id);
    if (m == npos)
        return;
    ++stats_.forgotten;
    release_message(m);
}

inline void reassembler::settle_sender(std::uint32_t s)
{
    sender_state& ss = senders_[s];
    if (!ss.messages.empty()) {
        if (ss.idle)
            unlink_idle(s);
        return;
    }
    if (ss.completed.empty()) {
        erase_sender(s);
        return;
    }
    // Idle: (re)join the idle list at the young end; the oldest idle senders go first.
    if (ss.idle)
        unlink_idle(s);
    ss.idle = true;
    ss.idle_prev = idle_tail_;
    ss.idle_next = npos;
    if (idle_tail_ != npos)
        senders_[idle_tail_].idle_next = s;
    else
        idle_head_ = s;
    idle_tail_ = s;
    ++idle_count_;
    while (idle_count_ > limits_.max_idle_senders) {
        ++stats_.idle_senders_evicted;
        erase_sender(idle_head_);
    }
}

inline std::uint32_t reassembler::find_sender(const endpoint& peer) const noexcept
{
    const auto it = sender_index_.find(peer);
    return it == sender_index_.end() ? npos : it->second;
}

inline std::uint32_t reassembler::find_message(std::uint32_t s, std::uint32_t msg_id) const noexcept
{
    // At most max_messages_per_sender entries (16 by default): a linear scan beats a hash here.
    for (const std::uint32_t m : senders_[s].messages)
        if (messages_[m].msg_id == msg_id)
            return m;
    return npos;
}

inline std::uint32_t reassembler::ensure_sender(const endpoint& peer)
{
    if (const std::uint32_t s = find_sender(peer); s != npos)
        return s;
    std::uint32_t s = free_senders_;
    if (s != npos) {
        free_senders_ = senders_[s].idle_next;
    } else {
        s = static_cast<std::uint32_t>(senders_.size());
        senders_.emplace_back();
    }
    try {
        sender_index_.emplace(peer, s);
    } catch (...) {
        senders_[s].idle_next = free_senders_;
        free_senders_ = s;
        throw;
    }
    sender_state& ss = senders_[s];
    ss.peer = peer;
    ss.idle = false;
    ss.idle_prev = ss.idle_next = npos;
    return s;
}

inline void reassembler::erase_sender(std::uint32_t s)
{
    sender_state& ss = senders_[s];
    if (ss.idle)
        unlink_idle(s);
    sender_index_.erase(ss.peer);
    ss.messages.clear();
    ss.completed.clear();
    ss.completed_next = 0;
    ss.idle_next = free_senders_;
    free_senders_ = s;
}

inline bool reassembler::was_completed(std::uint32_t s, std::uint32_t msg_id) const noexcept
{
    const auto& ring = senders_[s].completed;
    return std::find(ring.begin(), ring.end(), msg_id) != ring.end();
}

inline void reassembler::remember_completed(std::uint32_t s, std::uint32_t msg_id)
{
    sender_state& ss = senders_[s];
    if (ss.completed.size() < limits_.completed_ids_per_sender) {
        ss.completed.push_back(msg_id);
        return;
    }
    // Full: overwrite the oldest.
    ss.completed[ss.completed_next] = msg_id;
    ss.completed_next = (ss.completed_next + 1) % ss.completed.size();
}

inline void reassembler::unlink_idle(std::uint32_t s) noexcept
{
    sender_state& ss = senders_[s];
    (ss.idle_prev != npos ? senders_[ss.idle_prev].idle_next : idle_head_) = ss.idle_next;
    (ss.idle_next != npos ? senders_[ss.idle_next].idle_prev : idle_tail_) = ss.idle_prev;
    ss.idle_prev = ss.idle_next = npos;
    ss.idle = false;
    --idle_count_;
}

} // namespace tlvcast::fragment
