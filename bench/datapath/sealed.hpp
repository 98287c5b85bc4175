// SPDX-License-Identifier: BSL-1.0
// The group load generator's sealed-ahead messages and its receivers' check of what the relay forwarded.
//
// The group relay forwards one unchanged blob (GROUP_MESSAGE or GROUP_BATCH) to every member: by
// unicast inside the recipient's hop record (the relay's only crypto per recipient), by multicast
// bare to the data group. The sender seals and signs every blob before the timed part; in it the
// sender only hop-protects each blob (send_sealed), as a member's send does after sealing. A
// receiver compares each forwarded blob byte for byte with what the sender sealed for that
// position (in order, none missing): after removing its own hop record (unicast), or as it came
// (multicast). A sample (every `every`th blob, and the first and last of each phase) goes through
// a member's whole engine instead (hop record, AEAD, ratchet, Ed25519): proof that members can
// open what arrived, and a check of the plaintexts. Signing and verifying every message on this
// one core would make the load generator the bound (docs/BENCHMARKS.md, issue 8). A member that
// skips to a sample still steps its ratchet through every generation in between (two HKDFs per
// generation in find() and again in accept()), so sampling costs each sampling receiver about
// four HKDFs per message whatever `every` is: by default one receiver samples, the others open
// the warm-up's first blobs (which needs no skip) and compare the rest. `every` is at most the
// members' max_skip (1024): a sample further on would not open.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>

namespace tlvcast::bench {

/// Blobs sealed ahead, in send order, and the messages each carries.
struct sealed_plan {
    std::vector<std::vector<std::byte>> blobs;
    std::vector<std::uint64_t> first; // message number of each blob's first message; first.back(): the total

    std::size_t size() const noexcept { return blobs.size(); }
    std::uint64_t end_of(std::size_t k) const noexcept { return first[k + 1]; }
    void add(std::vector<std::byte> blob, std::size_t messages)
    {
        if (first.empty())
            first.push_back(0);
        blobs.push_back(std::move(blob));
        first.push_back(first.back() + messages);
    }
    /// The blob whose messages start at message number `m` (every phase starts on a blob).
    std::size_t blob_at(std::uint64_t m) const
    {
        const auto it = std::lower_bound(first.begin(), first.end(), m);
        if (it == first.end() || *it != m)
            throw std::logic_error("sealed_plan: a phase does not start on a blob");
        return static_cast<std::size_t>(it - first.begin());
    }
};

/// Which blobs a receiver opens with its whole engine: every `every`th, and the first and last of
/// each phase (boundaries: the blob indices where phases start, and size()).
struct sample_rule {
    std::size_t every = 64;
    std::vector<std::size_t> boundaries;
    /// Blobs from `quiet_from` on (the timed part, with --no-timed-open) are only compared, but for
    /// the first `quiet_head` (which follow an opened blob: no skip).
    std::size_t quiet_from = SIZE_MAX, quiet_head = 16;
    bool full(std::size_t k) const
    {
        if (k >= quiet_from)
            return k < quiet_from + quiet_head;
        if (every != 0 && k % every == 0)
            return true;
        for (const std::size_t b : boundaries)
            if (k == b || k + 1 == b)
                return true;
        return false;
    }
};

/// A receiver's progress: the next blob expected, messages checked, and how they were checked.
struct receiver_check {
    std::size_t next = 0;          // blob expected next
    std::uint64_t got = 0;         // messages checked, in order
    std::uint64_t compared = 0;    // blobs compared byte for byte
    std::uint64_t opened = 0;      // blobs opened and verified by the member's engine
    std::uint64_t other = 0;       // datagrams that were no forwarded blob (presence, keep-alive)

    /// A forwarded blob compared with the plan: throws unless it is the one expected next.
    void compare(const sealed_plan& plan, std::span<const std::byte> blob)
    {
        if (next >= plan.size())
            throw std::runtime_error("a receiver got a blob past the last one sent");
        const auto& want = plan.blobs[next];
        if (blob.size() != want.size() || !std::equal(blob.begin(), blob.end(), want.begin()))
            throw std::runtime_error("a receiver got a blob other than #" + std::to_string(next) +
                                     " (lost, reordered or damaged)");
        got = plan.end_of(next++);
        ++compared;
    }

    /// A message the member's engine opened: it must be the next message of the blob expected.
    template <class Fill>
    void opened_message(const sealed_plan& plan, std::span<const std::byte> text, std::vector<std::byte>& expect,
                        Fill&& fill)
    {
        if (next >= plan.size())
            throw std::runtime_error("a receiver opened a message past the last one sent");
        fill(expect, got);
        if (text.size() != expect.size() || !std::equal(text.begin(), text.end(), expect.begin()))
            throw std::runtime_error("a receiver's engine opened a message other than #" + std::to_string(got) +
                                     " (lost, reordered or damaged)");
        if (++got == plan.end_of(next)) {
            ++next;
            ++opened;
        }
    }
};

} // namespace tlvcast::bench
