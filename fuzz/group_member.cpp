// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness for the group profile's parsers and member state machine: a fresh group of
// three members per input, then a script of operations: raw bytes as a commit, welcome page,
// presence, message or batch to a member; real blobs (replayed, truncated or with a byte flipped);
// messages, batches (some signed by their sender with content that is not a batch), updates,
// leaves and the clock. Invariants: no crash, no leak, rosters within
// max_members, and members that saw only real blobs agree.
#include "profile/group/group_net.hpp"

#include <fuzzer/FuzzedDataProvider.h>

#include <cstdint>
#include <cstdlib>

using namespace tlvcast;
using namespace tlvcast::test::group;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    FuzzedDataProvider in(data, size);
    group_net g;
    options o = roster_options({1, 2, 3});
    o.max_members = 8;
    for (std::uint32_t id = 1; id <= 3; ++id)
        g.add(id, o, id);
    for (std::size_t i = 0; i < 3; ++i)
        g.join(i);
    bool garbage = false; // a member was handed bytes that are not a real blob
    for (int step = 0; step < 64 && in.remaining_bytes() > 0; ++step) {
        const auto op = in.ConsumeIntegralInRange<int>(0, 10);
        const auto who = in.ConsumeIntegralInRange<std::size_t>(0, 2);
        member_t& m = *g.nodes[who]->m;
        std::error_code ec;
        std::vector<std::byte> text;
        switch (op) {
        case 0:
        case 1:
        case 2:
        case 3: {
            const auto raw = in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(0, 2048));
            garbage = true;
            if (op == 0 && raw.size() >= wire::group_commit_min)
                m.on_commit(raw, g.now, ec);
            else if (op == 1 && raw.size() >= wire::group_welcome_min)
                m.on_welcome(raw, g.now, ec);
            else if (op == 2 && raw.size() >= wire::group_presence_fixed &&
                     raw.size() <= wire::group_presence_fixed + wire::group_join_max)
                m.on_presence(raw, g.now, ec);
            else if (op == 3 && raw.size() >= wire::group_message_min)
                (void)m.open(raw, text, ec);
            std::vector<std::vector<std::byte>> texts;
            if (op == 3 && raw.size() >= wire::group_message_min + 2)
                (void)m.open_batch(raw, texts, ec);
            break;
        }
        case 4: { // a real blob the relay saw, maybe damaged, to one member
            if (g.seen.empty())
                break;
            auto blob = g.seen[in.ConsumeIntegralInRange<std::size_t>(0, g.seen.size() - 1)];
            const auto damage = in.ConsumeIntegralInRange<int>(0, 3);
            if (damage == 1 && blob.size() > 4)
                blob[in.ConsumeIntegralInRange<std::size_t>(4, blob.size() - 1)] ^= std::byte{0x01};
            if (damage == 2 && blob.size() > 5) { // truncated, the TLV length with it (else read_outer stops it)
                blob.resize(in.ConsumeIntegralInRange<std::size_t>(4, blob.size() - 1));
                blob[2] = static_cast<std::byte>((blob.size() - 4) >> 8);
                blob[3] = static_cast<std::byte>(blob.size() - 4);
            }
            // A relay that relabels a message as a batch or back (the AEAD does not cover the type).
            const bool relabelled = damage == 3 && blob.size() > 4 &&
                                    (blob[1] == std::byte{30} || blob[1] == std::byte{32});
            if (relabelled)
                blob[1] = blob[1] == std::byte{30} ? std::byte{32} : std::byte{30};
            garbage |= damage != 0;
            bool opened = false;
            const wire::tlv t = wire::read_outer(blob, ec);
            if (!ec && !garbage) // a real blob goes through the same checks as from the relay
                g.deliver(who, blob);
            else if (!ec && t.type() == wire::tlv_type::group_commit && t.value.size() >= wire::group_commit_min)
                m.on_commit(t.value, g.now, ec);
            else if (!ec && t.type() == wire::tlv_type::group_message && t.value.size() >= wire::group_message_min)
                opened = m.open(t.value, text, ec).has_value();
            else if (!ec && t.type() == wire::tlv_type::group_batch && t.value.size() >= wire::group_message_min + 2) {
                std::vector<std::vector<std::byte>> texts;
                opened = m.open_batch(t.value, texts, ec).has_value();
            }
            if (relabelled && opened)
                __builtin_trap(); // the signature's label tells a message from a batch
            break;
        }
        case 5: g.send(who, in.ConsumeRandomLengthString(64)); break;
        case 6: m.update(g.now); g.pump(); break;
        case 7:
            if (g.nodes[who]->present)
                g.leave(who);
            break;
        case 8: g.tick(std::chrono::milliseconds(in.ConsumeIntegralInRange<int>(1, 2000))); break;
        case 9: {
            std::vector<std::string> batch(in.ConsumeIntegralInRange<std::size_t>(1, 40));
            for (auto& t : batch)
                t = in.ConsumeRandomLengthString(80);
            g.send_batch(who, batch, in.ConsumeIntegralInRange<std::size_t>(0, 2048));
            break;
        }
        case 10: { // a sender that signs content that is not a batch: refused, its generation spent
            if (!m.in_group() || !g.nodes[who]->present)
                break;
            const auto content = in.ConsumeBytes<std::byte>(in.ConsumeIntegralInRange<std::size_t>(0, 600));
            g.route(who, forge_signed(*g.nodes[who], wire::tlv_type::group_batch, labels::batch, content,
                                      in.ConsumeIntegralInRange<std::uint32_t>(0, 3)));
            break;
        }
        }
        for (const auto& n : g.nodes)
            if (n->m->in_group() && n->m->current()->roster.size() > o.max_members)
                std::abort();
    }
    g.pump();
    if (!garbage && !g.agree())
        std::abort();
    return 0;
}
