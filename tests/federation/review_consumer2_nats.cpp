// SPDX-License-Identifier: BSL-1.0
// Adversarial review of 2366ade: the link's JetStream consumer made with js_AddConsumer on an inbox of
// its own and read by a plain subscription (stream_consumer::on_delivery). The attacker has no
// federation key; it may publish on and read tlvcast.*.<group> (raw protocol, any headers), and in
// the cases that say so also publish on _INBOX.> (it learnt the consumer's deliver subject, e.g. from
// $JS.API.CONSUMER.INFO/LIST: here the operator's client lists them for it).
#if TLVCAST_HAS_NATS
#include "order_nats.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace {

using namespace review_order2_nats;

// The deliver subjects and names of the consumers the stream has now.
std::vector<std::pair<std::string, std::string>> consumers_of(operator_client& op, const char* stream)
{
    std::vector<std::pair<std::string, std::string>> out;
    jsConsumerInfoList* list = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = NATS_ERR;
    for (int attempt = 0; attempt < 3 && s != NATS_OK; ++attempt) // unanswered under TSan's load, once
        s = js_Consumers(&list, op.js, stream, nullptr, &err);
    if (s == NATS_OK && list) {
        for (int i = 0; i < list->Count; ++i) {
            const jsConsumerInfo* ci = list->List[i];
            out.emplace_back(ci->Config && ci->Config->DeliverSubject ? ci->Config->DeliverSubject : "",
                             ci->Name ? ci->Name : "");
        }
    }
    jsConsumerInfoList_Destroy(list);
    return out;
}

// A raw HPUB with a reply subject (an empty header block when none is given); returns once the
// server answered the PING after it.
void raw_publish_reply(int port, const std::string& subject, const std::string& reply, const std::string& headers,
                       const std::string& body)
{
    test::raw_publish(port, subject, headers.empty() ? test::header_block("") : headers, body, reply);
}

// A forged v1 ack reply: $JS.ACK.<stream>.<consumer>.<delivered>.<sseq>.<dseq>.<ts>.<pending>.
std::string forged_ack(const std::string& stream, const std::string& consumer, std::uint64_t sseq)
{
    return "$JS.ACK." + stream + "." + consumer + ".1." + std::to_string(sseq) + "." + std::to_string(sseq) +
           ".1700000000000000000.0";
}


std::vector<std::string> collect(nats_link& l, std::size_t want, std::chrono::milliseconds limit)
{
    std::vector<std::string> got;
    const auto start = clock_type::now();
    while (got.size() < want && clock_type::now() - start < limit) {
        for (auto& g : drain(l))
            if (!g.empty() && g != "forged")
                got.push_back(g);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return got;
}

} // namespace

// Holds (by the server, not by on_delivery). Attack: publish straight into a relay's consumer inbox a
// message with a forged "$JS.ACK.<stream>.<consumer>.1.<last+5>..." reply. on_delivery checks only
// the reply's prefix and take() believes the stream sequence in it: were it delivered, check_gap()
// would find last+1..last+4 not stored yet (no message found: in_order), take() would move
// last_seq_ 5 ahead, and the next 5 genuine envelopes would be dropped as repeats (up to
// max_skips_per_watch = 256 per forged message). nats-server (2.9.10 here) refuses any client's
// publication whose reply starts "$JS.ACK." ("-ERR 'Permissions Violation for Publish with Reply of
// "$JS.ACK...."'", client.go isReservedReply), so nothing reaches the relay: 0 of 5 lost on either.
// Hardening (defence in depth, should a server/leafnode/import path ever let one through): a genuine
// delivery's MSG subject is the stored message's (subject_), never the inbox: drop $JS.ACK.
// deliveries whose subject is not subject_, and whose reply's stream/consumer tokens are not
// stream_/name_.
TEST_CASE("review consumer2: a forged $JS.ACK reply injected into the consumer's inbox loses no genuine envelope",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    // A consumer re-created during the set-up leaves its predecessor behind for a moment when the
    // deletion's 250-ms wait ran out (loaded CI: 3 listed).
    REQUIRE(wait_until([&] { return consumers_of(p.op, "TLVCAST_order").size() == 2; }, std::chrono::seconds(10)));
    const auto consumers = consumers_of(op, "TLVCAST_order");
    REQUIRE(consumers.size() == 2);
    const std::uint64_t last = op.last_seq();
    // Both relays have a consumer; a's is not known from b's, so attack one and check the other
    // still gets everything: the one that lost is the victim.
    raw_publish_reply(server.port, consumers[0].first, forged_ack("TLVCAST_order", consumers[0].second, last + 5), "",
                      "forged");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    (void)drain(b); // its "first"
    std::vector<std::string> sent;
    for (int i = 0; i < 5; ++i) {
        sent.push_back("m" + std::to_string(i));
        b.publish(bytes_of(sent.back()));
    }
    const auto got_a = collect(a, sent.size(), std::chrono::seconds(4));
    const auto got_b = collect(b, sent.size(), std::chrono::milliseconds(500));
    INFO("a got " << got_a.size() << ", b got " << got_b.size() << " of " << sent.size()
                  << "; missed a " << a.counters().get(federation_counter::missed) << ", b "
                  << b.counters().get(federation_counter::missed));
    CHECK(got_a == sent);
    CHECK(got_b == sent);
}

// Holds (as above: the server refuses the forged reply). Attack: a forged $JS.ACK reply far ahead
// (last + 100000) would be held (hold() -> rewind_ -> tend() deletes and re-creates the consumer):
// one consumer churn per forged message. 2 rounds: 0 re-created, the stream keeps 2 consumers, nothing
// lost.
TEST_CASE("review consumer2: a forged far-ahead sequence does not make the relay re-create its consumer",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    int recreated = 0;
    for (int round = 0; round < 2; ++round) {
        REQUIRE(wait_until([&] { return consumers_of(p.op, "TLVCAST_order").size() == 2; }, std::chrono::seconds(10)));
        const auto before = consumers_of(op, "TLVCAST_order");
        REQUIRE(before.size() >= 2);
        const std::uint64_t last = op.last_seq();
        for (const auto& c : before)
            raw_publish_reply(server.port, c.first, forged_ack("TLVCAST_order", c.second, last + 100000), "", "forged");
        wait_until([&] {
            const auto now = consumers_of(p.op, "TLVCAST_order");
            int kept = 0;
            for (const auto& c : now)
                for (const auto& o : before)
                    kept += c.second == o.second;
            return kept == 0 && now.size() == 2;
        }, std::chrono::seconds(1));
        const auto now = consumers_of(op, "TLVCAST_order");
        for (const auto& c : now) {
            bool old = false;
            for (const auto& o : before)
                old = old || c.second == o.second;
            recreated += !old;
        }
    }
    std::vector<std::string> sent;
    for (int i = 0; i < 5; ++i) {
        sent.push_back("m" + std::to_string(i));
        b.publish(bytes_of(sent.back()));
    }
    const auto got_a = collect(a, sent.size(), std::chrono::seconds(4));
    INFO("consumers re-created by 2 rounds of 2 forged messages: " << recreated << "; stream's consumers now "
                                                                    << consumers_of(op, "TLVCAST_order").size());
    CHECK(got_a == sent); // holds
    CHECK(wait_until([&] { return consumers_of(p.op, "TLVCAST_order").size() == 2; }, std::chrono::seconds(10))); // holds: the old ones are deleted
    CHECK(recreated == 0);
}

// Holds: injected into the inbox, a message with a reply subject of the attacker's, or a bodiless
// heartbeat look-alike whose Nats-Consumer-Stalled names the attacker's subject, makes no relay
// publish there (only $JS.FC.* is ever answered).
TEST_CASE("review consumer2: nothing injected into the consumer's inbox makes a relay publish outside $JS.FC.",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    test::raw_counter reflected(server.port, "evil.>");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    for (const char* stream : {"TLVCAST_order", "TLVCOMMITS_order"})
        for (const auto& c : consumers_of(op, stream)) {
            raw_publish_reply(server.port, c.first, "evil.reply", "NATS/1.0 100 FlowControl Request\r\n\r\n", "");
            raw_publish_reply(server.port, c.first, "evil.reply2", "", "x");
            raw_publish(server.port, c.first, "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: evil.stalled\r\n\r\n", "");
            raw_publish(server.port, c.first, "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: evil.$JS.FC.x\r\n\r\n", "");
        }
    b.publish(bytes_of("after"));
    CHECK(time_until(a, "after", std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    INFO("published on evil.>: " << reflected.count.load());
    CHECK(reflected.count.load() == 0);
}

// Fixed (found by this review; minor; needs publish on _INBOX.> and the deliver subject). on_delivery answers any
// "$JS.FC." reply, and any reply-less message's Nats-Consumer-Stalled naming "$JS.FC.", whatever
// stream or consumer it names: injected into a relay's inbox they make the relay publish, with its
// own permissions, on another consumer's flow-control subject (one that reads _INBOX.> sees the
// server's FC requests, with their exact ids). An answered flow control lets the server push that
// consumer on before its reader caught up (a slow reader's libnats pending limits then drop
// messages). Measured: 2 injections, 2 publications on $JS.FC.OTHER.> by the relay.
// Fixed: only "$JS.FC.<stream_>.<this link's consumer names>" is answered, and only those
// consumers' "$JS.ACK." deliveries are taken (stream_consumer::on_delivery).
TEST_CASE("review consumer2: a relay answers no flow control but its own consumer's",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    test::raw_counter fc(server.port, "$JS.FC.OTHER.>");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    const auto consumers = consumers_of(op, "TLVCAST_order");
    REQUIRE(!consumers.empty());
    raw_publish_reply(server.port, consumers[0].first, "$JS.FC.OTHER.victim.1", "NATS/1.0 100 FlowControl Request\r\n\r\n", "");
    raw_publish(server.port, consumers[0].first,
                "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: $JS.FC.OTHER.victim.2\r\n\r\n", "");
    wait_until([&] { return fc.count.load() >= 2; }, std::chrono::seconds(2));
    INFO("published on $JS.FC.OTHER.>: " << fc.count.load());
    CHECK(fc.count.load() == 0);
}

// Holds: what may only be stored (tlvcast.*.<group>) with a $JS.FC./heartbeat look-alike's headers
// and a Nats-Consumer-Stalled naming $JS.FC.<anything> is a stored message: no relay publishes on
// $JS.FC.> for it (counted: only the server's own flow control would be answered, none here at this
// volume), and nothing genuine is lost.
TEST_CASE("review consumer2: stored flow-control look-alikes make no relay answer them",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    started_pair p;
    [[maybe_unused]] auto& [server, a, b, op] = p;
    test::raw_counter fc(server.port, "$JS.FC.>");
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    raw_publish(server.port, "tlvcast.g.order", "NATS/1.0 100 FlowControl Request\r\n\r\n", "");
    raw_publish(server.port, "tlvcast.g.order",
                "NATS/1.0 100 Idle Heartbeat\r\nNats-Consumer-Stalled: $JS.FC.TLVCAST_order.x.y\r\n\r\n", "");
    b.publish(bytes_of("after"));
    CHECK(time_until(a, "after", std::chrono::seconds(5)));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    INFO("published on $JS.FC.>: " << fc.count.load());
    CHECK(fc.count.load() == 0);
}

// Holds: consumer leaks and genuine loss under re-creation. A relay whose reader stalls (inbound
// queue of 4 full: its delivery waits for room) while the stream grows has its consumer re-created
// by the watch about once a second (delivered nothing while the stream grew), each re-creation
// deleting the old one (drop(): js_DeleteConsumer) before js_AddConsumer. Measured: 4 s stalled with
// 60 stored: 4 distinct consumers seen on the stream (a's re-created twice), never more than 2 at once;
// then every one of the 60 comes once and in order, the stream has 2 consumers (a's, b's) and the
// commit stream 2, none missed, none dropped (inbound_waits 15).
TEST_CASE("review consumer2: re-creations under a stalled reader leak no consumer and lose, repeat or reorder nothing",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    nats_link a{options(server, "relay-a", 4)}, b{options(server, "relay-b")};
    operator_client op{server};
    b.publish(bytes_of("first"));
    REQUIRE(time_until(a, "first", std::chrono::seconds(10)));
    std::vector<std::string> sent;
    for (int i = 0; i < 60; ++i) {
        sent.push_back("m" + std::to_string(i));
        b.publish(bytes_of(sent.back()));
    }
    std::size_t most = 0, most_commits = 0;
    std::set<std::string> names;
    for (int i = 0; i < 40; ++i) { // a's reader stalls 4 s
        const auto now = consumers_of(op, "TLVCAST_order");
        for (const auto& c : now)
            names.insert(c.second);
        most = std::max(most, now.size());
        most_commits = std::max(most_commits, consumers_of(op, "TLVCOMMITS_order").size());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    const auto got = collect(a, sent.size(), std::chrono::seconds(15));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    auto extra = drain(a);
    const auto n_messages = consumers_of(op, "TLVCAST_order").size();
    const auto n_commits = consumers_of(op, "TLVCOMMITS_order").size();
    INFO("a got " << got.size() << " of " << sent.size() << " (+" << extra.size() << " after); consumers now "
                  << n_messages << " + " << n_commits << " (most seen " << most << " + " << most_commits
                  << "; distinct consumers seen " << names.size() << "); missed " << a.counters().get(federation_counter::missed) << ", inbound_full "
                  << a.counters().get(federation_counter::inbound_full) << ", inbound_waits "
                  << a.counters().get(federation_counter::inbound_waits));
    CHECK(got == sent);
    CHECK(extra.empty());
    CHECK(n_messages == 2);
    CHECK(n_commits == 2);
    CHECK(most <= 3);
    CHECK(a.counters().get(federation_counter::missed) == 0);
}

// Holds: a link destroyed leaves no consumer for long. release() closes the connection before the
// consumers' drop(), so js_DeleteConsumer fails at once (connection closed) and the consumers are not
// deleted by the link; the server removes them (ephemeral push consumers without interest: 5 s in
// nats-server 2.9). Measured: 2 + 2 right after a's destruction (b's and a's orphan), 1 + 1 within ~6 s.
TEST_CASE("review consumer2: a destroyed link's consumers are gone within seconds",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    operator_client op{server};
    nats_link b{options(server, "relay-b")};
    std::optional<nats_link> a;
    a.emplace(options(server, "relay-a"));
    b.publish(bytes_of("first"));
    REQUIRE(time_until(*a, "first", std::chrono::seconds(10)));
    REQUIRE(wait_until([&] { return consumers_of(op, "TLVCAST_order").size() == 2; }, std::chrono::seconds(10)));
    a.reset();
    const auto right_after = consumers_of(op, "TLVCAST_order").size() + consumers_of(op, "TLVCOMMITS_order").size();
    const auto t0 = clock_type::now();
    const bool gone = wait_until([&] {
        return consumers_of(op, "TLVCAST_order").size() == 1 && consumers_of(op, "TLVCOMMITS_order").size() == 1;
    }, std::chrono::seconds(15));
    INFO("consumers right after: " << right_after << "; down to 1 + 1 after "
                                   << std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count() << " ms");
    CHECK(gone);
}

// Measured (holds when under 12 s): a link destroyed while its server is stopped (SIGSTOP: the
// connection stays open, nothing answers). The tender may be in a JetStream request (5 s each: the
// watch's stream info, and since 2366ade also js_DeleteConsumer in drop() before js_AddConsumer);
// the destructor closes the connection before the consumers' drop(), so their js_DeleteConsumer
// returns at once (and leaves the consumer to the server's inactivity clean-up: ephemeral, no
// interest).
TEST_CASE("review consumer2: a link destroyed while its server does not answer returns in bounded time",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    test::nats_server server;
    std::optional<nats_link> a;
    a.emplace(options(server, "relay-a"));
    a->publish(bytes_of("first"));
    REQUIRE(time_until(*a, "first", std::chrono::seconds(10)));
    REQUIRE(test::stop_process(server.pid));
    std::this_thread::sleep_for(std::chrono::milliseconds(1500)); // the tender is in a request now
    const auto t0 = clock_type::now();
    a.reset();
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count();
    ::kill(server.pid, SIGCONT);
    INFO("destructor took " << took << " ms");
    CHECK(took < 12000);
}
#endif

#if TLVCAST_HAS_NATS
// Measured (holds when under 16 s: one watch request, one js_DeleteConsumer and one js_AddConsumer of
// 5 s each, the jsCtx's default wait). A link whose consumer is being re-created about once a second
// (stalled reader, as above) destroyed 0.3, 0.9, 2.5 s after its server stopped (SIGSTOP):
// the tender threads are in whichever JetStream request was under way; the destructor joins them.
TEST_CASE("review consumer2: a link destroyed mid-re-creation while its server does not answer returns in bounded time",
          "[federation][nats][review][consumer2]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    long long worst = 0;
    std::string all;
    for (const int offset_ms : {300, 900, 2500}) {
        test::nats_server server;
        std::optional<nats_link> a;
        a.emplace(review_order2_nats::options(server, "relay-a", 4));
        nats_link b{review_order2_nats::options(server, "relay-b")};
        b.publish(review_order2_nats::bytes_of("first"));
        REQUIRE(review_order2_nats::time_until(*a, "first", std::chrono::seconds(10)));
        for (int i = 0; i < 60; ++i)
            b.publish(review_order2_nats::bytes_of("m" + std::to_string(i)));
        std::this_thread::sleep_for(std::chrono::milliseconds(2000));
        REQUIRE(test::stop_process(server.pid));
        std::this_thread::sleep_for(std::chrono::milliseconds(offset_ms)); // a request under way
        const auto t0 = std::chrono::steady_clock::now();
        a.reset();
        const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
        ::kill(server.pid, SIGCONT);
        worst = std::max(worst, static_cast<long long>(took));
        all += std::to_string(took) + " ms ";
    }
    INFO("destructor took " << all);
    CHECK(worst < 16000);
}
#endif

#if TLVCAST_HAS_NATS
namespace {

// A JetStream node of a 3-node cluster on loopback (n0..n2), killed with SIGKILL when asked.
struct cluster_node {
    pid_t pid = -1;
    int port = 0;
    std::filesystem::path dir;
    cluster_node(int i, int client_port, const std::vector<int>& cluster_ports)
        : port(client_port),
          dir(std::filesystem::temp_directory_path() / ("tlvcast-rc2-" + std::to_string(::getpid()) + "-" + std::to_string(i)))
    {
        std::filesystem::create_directories(dir);
        std::string routes;
        for (std::size_t k = 0; k < cluster_ports.size(); ++k)
            if (static_cast<int>(k) != i)
                routes += (routes.empty() ? "" : ",") + std::string("nats://127.0.0.1:") + std::to_string(cluster_ports[k]);
        const std::string p = std::to_string(port), d = dir.string(), name = "n" + std::to_string(i),
                          cl = "nats://127.0.0.1:" + std::to_string(cluster_ports[static_cast<std::size_t>(i)]);
        pid = ::fork();
        if (pid == 0) {
            ::prctl(PR_SET_PDEATHSIG, SIGKILL);
            const int null = ::open("/dev/null", O_RDWR);
            ::dup2(null, STDOUT_FILENO);
            ::dup2(null, STDERR_FILENO);
            ::execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", p.c_str(), "-js", "-sd", d.c_str(),
                     "--server_name", name.c_str(), "--cluster_name", "rc2", "--cluster", cl.c_str(), "--routes",
                     routes.c_str(), static_cast<char*>(nullptr));
            ::_exit(127);
        }
        REQUIRE(pid > 0);
    }
    void kill()
    {
        if (pid > 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            pid = -1;
        }
    }
    ~cluster_node()
    {
        kill();
        std::filesystem::remove_all(dir);
    }
    cluster_node(const cluster_node&) = delete;
    cluster_node& operator=(const cluster_node&) = delete;
};

// Three such nodes, started; connect() gives a connection to all of them and its JetStream context,
// and stream() makes a stream of 3 replicas on them.
struct cluster3 {
    std::vector<int> cports, ports;
    std::vector<std::unique_ptr<cluster_node>> nodes;
    std::vector<std::string> urls;
    natsOptions* no = nullptr;
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    cluster3()
    {
        for (int i = 0; i < 3; ++i) {
            cports.push_back(test::nats_server::free_port());
            ports.push_back(test::nats_server::free_port());
        }
        for (int i = 0; i < 3; ++i)
            nodes.push_back(std::make_unique<cluster_node>(i, ports[static_cast<std::size_t>(i)], cports));
        for (int p : ports)
            urls.push_back("nats://127.0.0.1:" + std::to_string(p));
        std::this_thread::sleep_for(std::chrono::seconds(1));
    }
    void connect()
    {
        REQUIRE(natsOptions_Create(&no) == NATS_OK);
        const char* servers[3] = {urls[0].c_str(), urls[1].c_str(), urls[2].c_str()};
        natsOptions_SetServers(no, servers, 3);
        natsOptions_SetMaxReconnect(no, -1);
        REQUIRE(natsConnection_Connect(&nc, no) == NATS_OK);
        REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    }
    void stream(const char* name, const char* subject)
    {
        tlvcast::federation::detail::stream_limits limits;
        limits.replicas = 3;
        bool made = false;
        for (int i = 0; i < 40 && !made; ++i) {
            made = tlvcast::federation::detail::ensure_stream(js, name, subject, limits,
                                                              tlvcast::federation::detail::stream_role::messages);
            if (!made)
                std::this_thread::sleep_for(std::chrono::milliseconds(250));
        }
        REQUIRE(made);
    }
    ~cluster3()
    {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
        natsOptions_Destroy(no);
    }
    cluster3(const cluster3&) = delete;
    cluster3& operator=(const cluster3&) = delete;
};

} // namespace

// Fixed (found by this review: item 3, drop()'s js_DeleteConsumer when the consumer's node is gone;
// now detail::delete_consumer waits 250 ms at most, and the new consumer is made before the old one
// is deleted). On a 3-node cluster,
// a stream of 3 replicas and an R1 memory push consumer made as the link makes it
// (add_push_consumer), the consumer's node killed (SIGKILL): js_DeleteConsumer for it times out
// after the jsCtx's whole default wait: measured 4999-5001 ms, "Timeout", 2 runs of 2; js_AddConsumer
// of its successor right after: 1 ms. resubscribe() calls drop() (this delete) before
// js_AddConsumer, so every re-creation after a node's death, the case tend()'s watch exists for,
// waits 5 s more per consumer (each tender thread blocks that long; the destructor's join too), on
// top of the watch's 1 s. (A disconnected connection: the same 5 s, once: name_ is cleared after the
// first try.) Whether 2366ade's predecessor paid it too (libnats's Unsubscribe deletes the consumer
// it made, synchronously) was not measured.
// Fix: subscribe the new inbox and js_AddConsumer first, then delete the old consumer with a short
// wait (jsOptions.Wait ~ 250 ms) or without waiting (publish $JS.API.CONSUMER.DELETE.<stream>.<name>
// with no reply); set cc.InactiveThreshold (e.g. 5 s) so that an undeleted one goes by itself.
TEST_CASE("review consumer2: deleting a consumer whose node died does not hold the re-creation for long",
          "[federation][nats][review][consumer2][cluster]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    cluster3 c;
    c.connect();
    c.stream("RC2", "rc2.x");
    jsCtx* js = c.js;
    auto& nodes = c.nodes;
    const std::string name = "rc2old";
    natsStatus s = NATS_ERR;
    for (int i = 0; i < 40 && s != NATS_OK; ++i) {
        s = tlvcast::federation::detail::add_push_consumer(js, "RC2", "rc2.x", "_INBOX.rc2old", 0,
                                                            std::chrono::duration_cast<std::chrono::nanoseconds>(
                                                                std::chrono::system_clock::now().time_since_epoch()).count(),
                                                            name);
        if (s != NATS_OK)
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    REQUIRE(s == NATS_OK);
    jsConsumerInfo* ci = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    REQUIRE(js_GetConsumerInfo(&ci, js, "RC2", name.c_str(), nullptr, &err) == NATS_OK);
    const std::string host = ci->Cluster && ci->Cluster->Leader ? ci->Cluster->Leader : "";
    jsConsumerInfo_Destroy(ci);
    REQUIRE(host.size() == 2);
    nodes[static_cast<std::size_t>(host[1] - '0')]->kill();
    std::this_thread::sleep_for(std::chrono::seconds(1)); // the watch's turn
    auto t0 = std::chrono::steady_clock::now();
    err = static_cast<jsErrCode>(0);
    const natsStatus del = tlvcast::federation::detail::delete_consumer(js, "RC2", name); // as the link deletes it
    const auto del_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    t0 = std::chrono::steady_clock::now();
    const std::string name2 = "rc2new";
    natsStatus add = NATS_ERR;
    int tries = 0;
    // Bounded: when the dead node led the stream, an election comes first (20 s measured once; once
    // no try worked in 200 s). What this case checks is the delete's wait; the add is reported.
    for (; tries < 40 && add != NATS_OK && std::chrono::steady_clock::now() - t0 < std::chrono::seconds(25); ++tries)
        add = tlvcast::federation::detail::add_push_consumer(js, "RC2", "rc2.x", "_INBOX.rc2new", 1, 0, name2);
    const auto add_ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0).count();
    INFO("consumer on " << host << " killed; js_DeleteConsumer: " << natsStatus_GetText(del) << " (err " << err << ") after "
                        << del_ms << " ms; new consumer after " << add_ms << " ms, " << tries << " tries");
    CHECK(del_ms < 1000);
}
#endif

#if TLVCAST_HAS_NATS
// Found by the e2e federation test (a relay restarted while one node of three was dead took 5-17 s
// to get its history: js_AddConsumer waited the context's whole 5 s each time the meta leader put
// the new R1 consumer on the dead node, which it still does long after the death). Now each try
// waits detail::add_consumer_wait_ms, and the link tries again under a new name. Here: a stream of
// 3 replicas, a node that does not lead it killed, then tries as the link makes them: each returns
// within the wait (a try on the dead node took 5 s before: 1 of 3 per try, 1 - (2/3)^9 = 97% per run).
TEST_CASE("review consumer2: making a consumer while a node is dead waits a moment per try",
          "[federation][nats][review][consumer2][cluster]")
{
    TLVCAST_NEEDS_NATS_SERVER();
    cluster3 c;
    c.connect();
    c.stream("RC3", "rc3.x");
    jsCtx* js = c.js;
    std::string leader;
    for (int i = 0; i < 40 && leader.size() != 2; ++i) {
        jsStreamInfo* si = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        if (js_GetStreamInfo(&si, js, "RC3", nullptr, &err) == NATS_OK && si->Cluster && si->Cluster->Leader)
            leader = si->Cluster->Leader;
        jsStreamInfo_Destroy(si);
        if (leader.size() != 2)
            std::this_thread::sleep_for(std::chrono::milliseconds(250));
    }
    REQUIRE(leader.size() == 2);
    const std::size_t victim = (static_cast<std::size_t>(leader[1] - '0') + 1) % 3;
    c.nodes[victim]->kill();
    std::this_thread::sleep_for(std::chrono::seconds(3)); // a meta leader's election, if it led that
    using clock_type = std::chrono::steady_clock;
    long longest = 0;
    int ok = 0, slow = 0;
    std::string each;
    const std::int64_t since = std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count();
    for (int i = 0; i < 9; ++i) {
        const auto t0 = clock_type::now();
        const natsStatus s = tlvcast::federation::detail::add_push_consumer(
            js, "RC3", "rc3.x", ("_INBOX.rc3_" + std::to_string(i)).c_str(), 0, since, "rc3_" + std::to_string(i));
        const long ms = static_cast<long>(
            std::chrono::duration_cast<std::chrono::milliseconds>(clock_type::now() - t0).count());
        longest = std::max(longest, ms);
        each += (each.empty() ? "" : " ") + std::to_string(ms) + (s == NATS_OK ? "" : "x");
        ok += s == NATS_OK;
        slow += ms >= 900;
    }
    INFO("n" << victim << " killed (stream leader " << leader << "): 9 tries, " << ok << " made, " << slow
             << " waited out, the longest " << longest << " ms (" << each << ")");
    CHECK(ok >= 1);
    CHECK(longest < 2500);
}
#endif

#if TLVCAST_HAS_NATS
// Measured with links (the finding above, end to end; holds under 40 s): 3-node cluster, two links,
// streams of 3 replicas; the node of a link's messages consumer (not the stream's leader when it can
// be chosen) killed; b publishes "after"; how long until a gets it. The link whose consumer died
// waits for the watch (<= 1 s), then drop()'s js_DeleteConsumer (5 s timeout), then js_AddConsumer.
// Measured: 5.1 s and 6.9 s when a non-leader node died (1-2 s expected without the delete's wait);
// 20.9 s when it was also the stream's leader (election, and JetStream requests timing out meanwhile).
TEST_CASE("review consumer2: a link whose consumer's node died gets the next message (measured)",
          "[federation][nats][review][consumer2][cluster]")
{
    using namespace review_order2_nats;
    TLVCAST_NEEDS_NATS_SERVER();
    cluster3 c;
    auto& nodes = c.nodes;
    nats_options o;
    o.servers = c.urls;
    o.group = "order";
    o.jetstream = true;
    o.stream.replicas = 3;
    nats_options oa = o, ob = o;
    oa.client_name = "relay-a";
    ob.client_name = "relay-b";
    nats_link a{oa}, b{ob};
    b.publish(bytes_of("first"));
    REQUIRE(time_until(a, "first", std::chrono::seconds(30)));
    c.connect();
    jsCtx* js = c.js;
    std::string stream_leader, victim;
    {
        jsStreamInfo* si = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        if (js_GetStreamInfo(&si, js, "TLVCAST_order", nullptr, &err) == NATS_OK && si->Cluster && si->Cluster->Leader)
            stream_leader = si->Cluster->Leader;
        jsStreamInfo_Destroy(si);
        jsConsumerInfoList* list = nullptr;
        if (js_Consumers(&list, js, "TLVCAST_order", nullptr, &err) == NATS_OK && list)
            for (int i = 0; i < list->Count; ++i)
                if (list->List[i]->Cluster && list->List[i]->Cluster->Leader &&
                    (victim.empty() || victim == stream_leader))
                    victim = list->List[i]->Cluster->Leader;
        jsConsumerInfoList_Destroy(list);
    }
    REQUIRE(victim.size() == 2);
    nodes[static_cast<std::size_t>(victim[1] - '0')]->kill();
    (void)drain(b);
    b.publish(bytes_of("after"));
    const auto ta = time_until(a, "after", std::chrono::seconds(40));
    const auto tb = time_until(b, "after", std::chrono::seconds(5));
    const auto ms_of = [](std::optional<clock_type::duration> d) {
        return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d).count() : -1;
    };
    INFO("killed " << victim << " (stream leader " << stream_leader << "); a got it after " << ms_of(ta)
                   << " ms, b " << ms_of(tb) << " ms after a");
    CHECK(ta);
    CHECK(ta < std::chrono::seconds(40));
}
#endif
