// SPDX-License-Identifier: BSL-1.0
// Tests for examples/common/relay_stats.hpp and the event lines of examples/common/json.hpp: the
// relay's stats as JSON, text and Prometheus, the "ts" of the schema, and the atomic file write.
#include "common/relay_stats.hpp"

#include "common/reliability.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>
#include <system_error>
#include <unistd.h>

namespace ex = tlvcast::examples;
using std::chrono::microseconds;
using std::chrono::system_clock;

namespace {
std::string read_file(const std::filesystem::path& p)
{
    std::ifstream f(p, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

// A directory of its own, removed at the end of the test.
struct temp_dir {
    std::filesystem::path path = std::filesystem::temp_directory_path() /
                                 ("tlvcast-test-examples-" + std::to_string(::getpid()));
    temp_dir() { std::filesystem::create_directories(path); }
    ~temp_dir() { std::filesystem::remove_all(path); }
};
} // namespace

TEST_CASE("rfc3339_utc: UTC, microseconds, Z")
{
    CHECK(ex::rfc3339_utc(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
    // 2026-12-01T02:41:28Z is 1796092888 s after the epoch.
    CHECK(ex::rfc3339_utc(system_clock::time_point{microseconds{1'796'092'888'123'456}}) ==
          "2026-12-01T02:41:28.123456Z");
    CHECK(ex::rfc3339_utc(system_clock::time_point{microseconds{1'796'092'888'000'007}}) ==
          "2026-12-01T02:41:28.000007Z");
}

TEST_CASE("json_object::event: v, ts and event first")
{
    const std::string line = ex::json_object::event("ready").num("port", 5007).text();
    REQUIRE(line.rfind("{\"v\":1,\"ts\":\"", 0) == 0);
    const auto ts = line.substr(13, 27);
    CHECK(ts.size() == 27);
    CHECK(ts.back() == 'Z');
    CHECK(line.substr(13 + 27) == "\",\"event\":\"ready\",\"port\":5007}");
}

TEST_CASE("relay stats: JSON, text, Prometheus")
{
    ex::relay_reading r;
    r.counters[0] = 3; // datagrams_in
    r.counters[6] = 2; // messages_relayed
    r.clients = 2;
    const std::string json = ex::relay_stats_json(r, "signal");
    CHECK(json.find("\"event\":\"stats\",\"reason\":\"signal\",\"clients\":2,\"datagrams_in\":3,") !=
          std::string::npos);
    CHECK(json.find("\"messages_relayed\":2,") != std::string::npos);
    CHECK(json.find("\"refused\":0") != std::string::npos);
    CHECK(json.back() == '}');
    CHECK(ex::relay_stats_text(r) == "relay stats: clients=2 datagrams_in=3 messages_relayed=2");

    const auto started = system_clock::time_point{std::chrono::seconds{1'796'092'888}};
    const std::string prom = ex::relay_stats_prometheus(r, "ff02::1%v0", 5007, started);
    CHECK(prom.find("# HELP tlvcast_relay_datagrams_in_total Datagrams received.\n"
                    "# TYPE tlvcast_relay_datagrams_in_total counter\n"
                    "tlvcast_relay_datagrams_in_total{group=\"ff02::1%v0\",port=\"5007\"} 3\n") == 0);
    CHECK(prom.find("# TYPE tlvcast_relay_clients gauge\ntlvcast_relay_clients{group=\"ff02::1%v0\",port=\"5007\"} 2\n") !=
          std::string::npos);
    CHECK(prom.find("tlvcast_relay_start_time_seconds{group=\"ff02::1%v0\",port=\"5007\"} 1796092888\n") !=
          std::string::npos);
    // Three lines a metric: every counter, the clients and the start time.
    std::istringstream lines(prom);
    std::size_t n = 0;
    for (std::string line; std::getline(lines, line);)
        ++n;
    CHECK(n == 3 * (tlvcast::core::relay_counters::size + 2));
    // Every counter has its own help, none the fallback, the repair layer's too.
    CHECK(prom.find("A relay counter") == std::string::npos);
    r.fragmenter = ex::repair_counters(tlvcast::fragment::nack_fragmenter_stats{});
    REQUIRE_FALSE(r.fragmenter.empty());
    r.fragmenter[4].second = 7; // repair_retransmissions
    const std::string with_repair = ex::relay_stats_prometheus(r, "224.1.1.1", 5007, started);
    CHECK(with_repair.find("A relay counter") == std::string::npos);
    CHECK(with_repair.find("tlvcast_relay_repair_retransmissions_total{group=\"224.1.1.1\",port=\"5007\"} 7\n") !=
          std::string::npos);
    CHECK(ex::relay_stats_json(r, "exit").find("\"repair_retransmissions\":7") != std::string::npos);
    CHECK(ex::relay_stats_text(r) == "relay stats: clients=2 datagrams_in=3 messages_relayed=2 repair_retransmissions=7");
    // Label values are escaped.
    CHECK(ex::relay_stats_prometheus(r, "a\"b\\c\nd", 1, started).find("{group=\"a\\\"b\\\\c\\nd\",port=\"1\"}") !=
          std::string::npos);
}

TEST_CASE("write_file_atomically: replaces the file, leaves no temporary file, reports errors")
{
    const temp_dir d;
    const auto file = d.path / "tlvcast.prom";
    std::error_code ec;
    ex::write_file_atomically(file, "one\n", ec);
    REQUIRE_FALSE(ec);
    ex::write_file_atomically(file, "two\n", ec);
    REQUIRE_FALSE(ec);
    CHECK(read_file(file) == "two\n");
    CHECK(std::distance(std::filesystem::directory_iterator(d.path), std::filesystem::directory_iterator()) == 1);

    ex::write_file_atomically(d.path / "no-such-dir" / "tlvcast.prom", "x", ec);
    CHECK(ec);
    CHECK(std::distance(std::filesystem::directory_iterator(d.path), std::filesystem::directory_iterator()) == 1);
    // A directory in the way of the rename: an error, the temporary file removed.
    std::filesystem::create_directory(d.path / "taken");
    std::filesystem::create_directory(d.path / "taken" / "sub");
    ex::write_file_atomically(d.path / "taken", "x", ec);
    CHECK(ec);
    CHECK(std::distance(std::filesystem::directory_iterator(d.path), std::filesystem::directory_iterator()) == 2);
}
