// SPDX-License-Identifier: BSL-1.0
// Commit histories for sequencer::replay_commit() tests (sequencer_replay.cpp, review_catch_up3.cpp):
// what a group_net's nodes sent, in order, as a federation's commit stream would hold it, and a
// sequencer that replayed one.
#pragma once

#include "profile/group/group_net.hpp"

#include <algorithm>
#include <cstddef>
#include <functional>
#include <utility>
#include <vector>

namespace tlvcast::test::group::replay {

using entry = std::pair<std::vector<std::byte>, crypto::fingerprint>; // a GROUP_COMMIT blob, its sender
using history = std::vector<entry>;
using admit_fn = std::function<std::error_code(const key_package_view&, std::optional<bytes>)>;

inline std::span<const std::byte> val(const std::vector<std::byte>& blob)
{
    std::error_code ec;
    return wire::read_outer(blob, ec).value;
}

// Every commit the nodes of a group_net send, and whether its (live) sequencer accepted it.
struct recorder {
    struct sent {
        std::vector<std::byte> blob;
        crypto::fingerprint fp;
        std::size_t from;
        std::size_t rejected_before;
    };
    std::vector<sent> all;
    group_net* g = nullptr;
    bool drop_welcome_of_0 = false; // a relay that withholds node 0's welcome pages

    void install(group_net& net)
    {
        g = &net;
        net.pass = [this](std::size_t from, const std::vector<std::byte>& b) {
            std::error_code ec;
            const auto type = wire::read_outer(b, ec).type();
            if (type == wire::tlv_type::group_commit)
                all.push_back({b, g->nodes[from]->fp(), from, g->rejected_commits});
            return !(drop_welcome_of_0 && from == 0 && type == wire::tlv_type::group_welcome);
        };
    }
    entry at(std::size_t i) const { return {all[i].blob, all[i].fp}; }
    // Commits `from` to `to` as sent, accepted or not.
    history sent_range(std::size_t from, std::size_t to) const
    {
        history h;
        for (std::size_t i = from; i < std::min(to, all.size()); ++i)
            h.push_back(at(i));
        return h;
    }
    // Commits reach the sequencer one at a time, right after pass().
    bool accepted(std::size_t i) const
    {
        const std::size_t after = i + 1 < all.size() ? all[i + 1].rejected_before : g->rejected_commits;
        return after == all[i].rejected_before;
    }
    // The order the running relay made: its accepted commits from `from` to `to`.
    history order(std::size_t from = 0, std::size_t to = static_cast<std::size_t>(-1)) const
    {
        history h;
        for (std::size_t i = from; i < std::min(to, all.size()); ++i)
            if (accepted(i))
                h.push_back(at(i));
        return h;
    }
};

inline sequencer<suite> replayed(const history& h, const admit_fn& admit = {})
{
    sequencer<suite> s{options::default_max_members, options::default_commit_history};
    for (const auto& c : h) {
        std::error_code ec;
        s.replay_commit(val(c.first), c.second, ec, admit);
    }
    return s;
}

inline history operator+(history a, const history& b)
{
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

} // namespace tlvcast::test::group::replay
