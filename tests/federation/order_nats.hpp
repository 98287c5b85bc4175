// SPDX-License-Identifier: BSL-1.0
// What the second review of the order over a real nats-server (review_order2_nats.cpp,
// review_order2_wait_nats.cpp) shares: links on a fresh server, the operator's client, a raw
// attacker that reacts to what it reads, relays bridged over nats_links whose strand is the test's.
#pragma once

#if TLVCAST_HAS_NATS
#include <tlvcast/federation/nats_link.hpp>

#include "nats_server.hpp"
#include "order_sites.hpp"
#include "raw_nats.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>


namespace review_order2_nats {

using namespace tlvcast;
using namespace tlvcast::federation;
using test::header_block;
using test::raw_publish;
using clock_type = std::chrono::steady_clock;

inline const std::string heartbeat = "NATS/1.0 100 Idle Heartbeat\r\n\r\n"; // what libnats takes for the server's

inline nats_options options(const test::nats_server& server, const char* name, std::size_t max_inbound = 4096,
                     std::chrono::milliseconds inbound_wait = nats_options::default_inbound_wait)
{
    nats_options o = test::jetstream_options(server, "order");
    o.client_name = name;
    o.max_inbound = max_inbound;
    o.inbound_wait = inbound_wait;
    return o;
}

inline std::vector<std::byte> bytes_of(const std::string& s)
{
    return {reinterpret_cast<const std::byte*>(s.data()), reinterpret_cast<const std::byte*>(s.data() + s.size())};
}

// What `l` has queued now, as strings.
inline std::vector<std::string> drain(nats_link& l)
{
    std::vector<std::string> got;
    std::vector<std::byte> b;
    reception r;
    while (l.poll(b, r))
        got.emplace_back(reinterpret_cast<const char*>(b.data()), b.size());
    return got;
}

// Polls `l` until `body` came or `limit` passed; the time it took, or nothing.
inline std::optional<clock_type::duration> time_until(nats_link& l, const std::string& body, std::chrono::milliseconds limit)
{
    const auto start = clock_type::now();
    while (clock_type::now() - start < limit) {
        for (const auto& got : drain(l))
            if (got == body)
                return clock_type::now() - start;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return std::nullopt;
}

template <class Pred>
bool wait_until(Pred pred, std::chrono::milliseconds limit = std::chrono::seconds(20)) // 5 s was too short for a link's set-up under a fresh clone's load
{
    for (const auto start = clock_type::now(); clock_type::now() - start < limit;
         std::this_thread::sleep_for(std::chrono::milliseconds(10)))
        if (pred())
            return true;
    return pred();
}

// The test's own JetStream client (the operator's: it may delete a message, as the stream's limits do).
struct operator_client {
    natsConnection* nc = nullptr;
    jsCtx* js = nullptr;
    explicit operator_client(const test::nats_server& s)
    {
        REQUIRE(natsConnection_ConnectTo(&nc, s.url().c_str()) == NATS_OK);
        REQUIRE(natsConnection_JetStream(&js, nc, nullptr) == NATS_OK);
    }
    ~operator_client()
    {
        jsCtx_Destroy(js);
        natsConnection_Destroy(nc);
    }
    operator_client(const operator_client&) = delete;
    operator_client& operator=(const operator_client&) = delete;
    // The group's messages' stream by default; its commits' is "TLVCOMMITS_order".
    std::uint64_t last_seq(const char* stream = "TLVCAST_order")
    {
        const auto st = federation::detail::stream_seqs(js, stream);
        return st ? st->last : 0;
    }
    std::uint64_t api_requests() // the account's JetStream API requests so far
    {
        jsAccountInfo* ai = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        std::uint64_t total = 0;
        if (js_GetAccountInfo(&ai, js, nullptr, &err) == NATS_OK)
            total = ai->API.Total;
        jsAccountInfo_Destroy(ai);
        return total;
    }
    bool remove(std::uint64_t seq, const char* stream = "TLVCAST_order")
    {
        jsErrCode err = static_cast<jsErrCode>(0);
        return js_DeleteMsg(js, stream, seq, nullptr, &err) == NATS_OK;
    }
};

// Two relays' links on a fresh server, both reading the stream ("first" went through), and the
// operator's client.
struct started_pair {
    test::nats_server server;
    nats_link a{options(server, "relay-a")}, b{options(server, "relay-b")};
    operator_client op{server};
    started_pair()
    {
        b.publish(bytes_of("first"));
        REQUIRE(time_until(a, "first", std::chrono::seconds(10)));
        // b too: a consumer still behind the stream a second later is re-created by its watch (seen
        // under TSan), which the reviews count as an attack's effect.
        REQUIRE(time_until(b, "first", std::chrono::seconds(10)));
    }
};

// A raw client subscribed to `subject` (the attacker reads everything): the first publication it
// sees (headers and body), refused by the stream or not, goes to `react`, which returns what to send
// back on the same connection (raw protocol). Bounded: one reaction, then it stops.
class first_publication_watch {
public:
    using reaction = std::function<std::string(const std::string& headers, const std::string& body)>;
    first_publication_watch(int port, const std::string& subject, reaction react)
        : react_(std::move(react)), s_(test::raw_connect(port))
    {
        send("CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":true,\"protocol\":1}\r\nSUB " + subject +
             " 1\r\nPING\r\n");
        REQUIRE(read_until([this] { return in_.find("PONG\r\n") != std::string::npos; }));
        in_.erase(0, in_.find("PONG\r\n") + 6);
        thread_ = std::thread([this] { run(); });
    }
    ~first_publication_watch()
    {
        stop_ = true;
        thread_.join();
        ::close(s_);
    }
    first_publication_watch(const first_publication_watch&) = delete;
    first_publication_watch& operator=(const first_publication_watch&) = delete;
    std::atomic<bool> reacted{false};

private:
    void send(const std::string& out) { (void)::send(s_, out.data(), out.size(), MSG_NOSIGNAL); }
    template <class Done>
    bool read_until(Done done)
    {
        char buf[65536];
        for (int i = 0; i < 1000 && !done() && !stop_; ++i) { // 10 s at most
            pollfd p{s_, POLLIN, 0};
            if (::poll(&p, 1, 10) <= 0)
                continue;
            const ssize_t n = ::recv(s_, buf, sizeof buf, 0);
            if (n <= 0)
                return false;
            in_.append(buf, static_cast<std::size_t>(n));
        }
        return done();
    }
    // "HMSG <subject> <sid> [reply] <header bytes> <total bytes>\r\n" then the bytes and "\r\n".
    void run()
    {
        while (!stop_ && !reacted) {
            const auto line_end = [this] { return in_.find("\r\n", in_.find("HMSG ")); };
            if (!read_until([&] { return in_.find("HMSG ") != std::string::npos && line_end() != std::string::npos; }))
                continue;
            const auto b = in_.find("HMSG "), e = line_end();
            std::vector<std::string> words;
            for (std::size_t i = b; i < e;) {
                const std::size_t j = std::min(in_.find(' ', i), e);
                words.push_back(in_.substr(i, j - i));
                i = j + 1;
            }
            const std::size_t header_bytes = std::stoul(words[words.size() - 2]), total = std::stoul(words.back());
            if (!read_until([&] { return in_.size() >= e + 2 + total; }))
                continue;
            const std::string headers = in_.substr(e + 2, header_bytes), body = in_.substr(e + 2 + header_bytes, total - header_bytes);
            send(react_(headers, body));
            reacted = true;
        }
    }
    reaction react_;
    int s_ = -1;
    std::string in_;
    std::atomic<bool> stop_{false};
    std::thread thread_;
};

// What the attacker sends to store `body` under `headers` (a whole block) on the group subject.
inline std::string hpub_group(const std::string& headers, const std::string& body)
{
    return "HPUB tlvcast.g.order " + std::to_string(headers.size()) + " " + std::to_string(headers.size() + body.size()) +
           "\r\n" + headers + body + "\r\n";
}

// The id a publication carried (its Nats-Msg-Id header), or nothing.
inline std::string msg_id_of(const std::string& headers)
{
    const std::string key = "Nats-Msg-Id: ";
    const auto b = headers.find(key);
    if (b == std::string::npos)
        return {};
    return headers.substr(b + key.size(), headers.find("\r\n", b) - b - key.size());
}

// A relay whose strand is the test's thread: libnats's threads post (the bridge's notification),
// run() runs what was posted.
struct posted_relay {
    review_order::chain_engine engine;
    datagram_batch out;
    std::vector<core::relay_event> events;
    // On the heap: TSan knows a mutex by its address and never sees a std::mutex die, so a stack
    // mutex of one test and another test's at the same address made one mutex in its lock graph (a
    // false lock-order inversion: this one is never held while another is taken).
    std::unique_ptr<std::mutex> mp = std::make_unique<std::mutex>();
    std::mutex& m = *mp;
    std::deque<std::function<void()>> posted;
    template <class F>
    void post_to_engine(F f)
    {
        const std::lock_guard lock(m);
        posted.emplace_back([this, f] { f(engine, time_point{}, out, events); });
    }
    void run()
    {
        for (int i = 0; i < 1000; ++i) {
            std::function<void()> f;
            {
                const std::lock_guard lock(m);
                if (posted.empty())
                    return;
                f = std::move(posted.front());
                posted.pop_front();
            }
            f();
        }
    }
};

// Two relays bridged over nats_links, the test's thread their strands.
struct two_relays {
    nats_link la, lb;
    posted_relay ra, rb;
    bridge<posted_relay, nats_link> ba{ra, la, test::rid(1), test::key_of(1)}, bb{rb, lb, test::rid(2), test::key_of(1)};
    two_relays(const nats_options& oa, const nats_options& ob) : la(oa), lb(ob)
    {
        ba.start();
        bb.start();
        run_until([] { return true; }, std::chrono::milliseconds(0));
    }
    template <class Pred>
    bool run_until(Pred pred, std::chrono::milliseconds limit)
    {
        for (const auto start = clock_type::now();; std::this_thread::sleep_for(std::chrono::milliseconds(20))) {
            ra.run();
            rb.run();
            if (pred() || clock_type::now() - start >= limit)
                return pred();
        }
    }
};

// One more relay bridged over its own nats_link (one that starts late), the test's thread its strand.
struct late_relay {
    nats_link l;
    posted_relay r;
    bridge<posted_relay, nats_link> br;
    explicit late_relay(const nats_options& o, std::uint8_t id) : l(o), br(r, l, test::rid(id), test::key_of(1))
    {
        br.start();
        r.run(); // the engine's federation sink
    }
};

} // namespace review_order2_nats
#endif
