// SPDX-License-Identifier: BSL-1.0
// The group profile's costs, measured on the member state machines (no sockets): what one commit
// costs the whole group at N = 10, 100 and 1,000 members (bytes, public-key operations, time), and
// what a recipient pays per message (the Ed25519 verification dominates), one per blob or batched.
#include "profile/group/group_net.hpp"

#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>

using namespace tlvcast;
using namespace tlvcast::test::group;

namespace {

// A group of n members (open admission: the policy costs at most one verification per addition),
// founded by node 0 and grown by two commits.
group_net& group_of(std::size_t n)
{
    static std::map<std::size_t, std::unique_ptr<group_net>> cache;
    auto& g = cache[n];
    if (!g) {
        g = std::make_unique<group_net>();
        options o;
        o.policy = admission::open;
        for (std::size_t i = 0; i < n; ++i)
            g->add(static_cast<std::uint32_t>(i + 1), o, 1000 + i);
        g->join(0);
        g->join_all(1, n);
        if (!g->agree() || g->nodes[0]->m->current()->roster.size() != n)
            throw std::runtime_error("bench_group: the group did not form");
    }
    return *g;
}

std::uint64_t pk_ops(const group_net& g)
{
    std::uint64_t total = 0;
    for (const auto& n : g.nodes) {
        total += n->party->counts().total();
    }
    return total;
}

// One commit (member 0 rotates its init key: an update, which every member applies), end to end:
// made by the committer, ordered by the sequencer, applied by all n members, one after another on
// this thread. Time per iteration is the whole group's CPU time for the commit.
void BM_group_commit(benchmark::State& state)
{
    const auto n = static_cast<std::size_t>(state.range(0));
    group_net& g = group_of(n);
    std::uint64_t bytes = 0, ops = 0, commits = 0;
    double commit_s = 0;
    for (auto _ : state) {
        const std::uint64_t before = pk_ops(g);
        const std::size_t seen = g.seen.size();
        const auto t0 = std::chrono::steady_clock::now();
        g.nodes[0]->m->update(g.now); // the commit is made here
        commit_s += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        g.pump(); // ordered, echoed, applied by every member
        for (std::size_t i = seen; i < g.seen.size(); ++i)
            bytes += g.seen[i].size();
        ops += pk_ops(g) - before;
        ++commits;
    }
    if (!g.agree())
        state.SkipWithError("members disagree after the commits");
    state.counters["commit_bytes"] = static_cast<double>(bytes) / static_cast<double>(commits);
    state.counters["pk_ops"] = static_cast<double>(ops) / static_cast<double>(commits);
    state.counters["pk_ops_per_member"] = static_cast<double>(ops) / static_cast<double>(commits * n);
    state.counters["committer_ms"] = 1e3 * commit_s / static_cast<double>(commits);
}
BENCHMARK(BM_group_commit)->Arg(10)->Arg(100)->Arg(1000)->Unit(benchmark::kMillisecond)->MinTime(1.0);

// A recipient opening messages of `size` bytes from one sender: AEAD, the ratchet step and one
// Ed25519 verification each.
void BM_group_open(benchmark::State& state)
{
    group_net& g = group_of(10);
    const std::string text(static_cast<std::size_t>(state.range(0)), 'x');
    std::vector<std::vector<std::byte>> blobs(1024);
    std::size_t next = blobs.size();
    std::vector<std::byte> out;
    std::error_code ec;
    for (auto _ : state) {
        if (next == blobs.size()) {
            state.PauseTiming();
            for (auto& b : blobs)
                g.nodes[1]->m->seal(std::as_bytes(std::span(text)), b, ec);
            next = 0;
            state.ResumeTiming();
        }
        const wire::tlv t = wire::read_outer(blobs[next++], ec);
        if (!g.nodes[2]->m->open(t.value, out, ec))
            state.SkipWithError("a message did not open");
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_group_open)->Arg(40)->Arg(256);

// The same, with the sender packing what it has queued into batches of one datagram (1,196 bytes):
// one AEAD, ratchet step and verification per batch. Items are messages.
void BM_group_open_batch(benchmark::State& state)
{
    group_net& g = group_of(10);
    const std::string text(static_cast<std::size_t>(state.range(0)), 'x');
    const std::vector<bytes> queued(4096, std::as_bytes(std::span(text)));
    std::vector<std::vector<std::byte>> blobs;
    std::size_t next = 0, opened = 0;
    std::vector<std::vector<std::byte>> out;
    std::error_code ec;
    for (auto _ : state) {
        if (next == blobs.size()) {
            state.PauseTiming();
            blobs.clear();
            for (std::size_t at = 0; at < queued.size();) {
                blobs.emplace_back();
                at += g.nodes[1]->m->seal_batch(std::span(queued).subspan(at), 1196, blobs.back(), ec);
            }
            next = 0;
            state.ResumeTiming();
        }
        const wire::tlv t = wire::read_outer(blobs[next++], ec);
        if (!g.nodes[2]->m->open_batch(t.value, out, ec))
            state.SkipWithError("a batch did not open");
        opened += out.size();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(opened));
    state.counters["per_batch"] = static_cast<double>(opened) / static_cast<double>(state.iterations());
}
BENCHMARK(BM_group_open_batch)->Arg(40)->Arg(256);

void BM_group_seal(benchmark::State& state)
{
    group_net& g = group_of(10);
    const std::string text(static_cast<std::size_t>(state.range(0)), 'x');
    std::vector<std::byte> blob;
    std::error_code ec;
    for (auto _ : state)
        g.nodes[1]->m->seal(std::as_bytes(std::span(text)), blob, ec);
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
}
BENCHMARK(BM_group_seal)->Arg(40)->Arg(256);

} // namespace
