// SPDX-License-Identifier: BSL-1.0
// tlvcast-relay's counters as people, JSON (the stats event) and Prometheus (a textfile for
// node_exporter) see them, and when they are reported: SIGUSR1 or SIGHUP, --stats-interval, the exit.
#pragma once

#include "common/json.hpp"

#include <tlvcast/core/events.hpp>
#include <tlvcast/time.hpp>

#include <asio/io_context.hpp>
#include <asio/signal_set.hpp>
#include <asio/steady_timer.hpp>

#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace tlvcast::examples {

/// One reading of the relay: its counters, the clients registered at that moment, and its
/// Fragmenter's counters by name (the repair layer's, --reliability nack; none otherwise).
struct relay_reading {
    core::relay_counters::snapshot counters{};
    std::uint64_t clients = 0;
    /// With --federate, the federation's counters (federation_*, docs/FEDERATION.md) follow them.
    std::vector<std::pair<std::string_view, std::uint64_t>> fragmenter;
};

/// What a Prometheus HELP line says of relay counter `name` (docs/CLI.md has the same list).
inline std::string_view relay_counter_help(std::string_view name)
{
    struct entry {
        std::string_view name, help;
    };
    static constexpr entry table[] = {
        {"datagrams_in", "Datagrams received."},
        {"datagrams_out", "Datagrams sent."},
        {"bytes_in", "Bytes received in datagrams."},
        {"bytes_out", "Bytes sent in datagrams."},
        {"registrations", "Client registrations accepted."},
        {"messages_in", "Messages received from clients."},
        {"messages_relayed", "Message copies sent to clients (a multicast copy counts once)."},
        {"presence_sent", "Presence notices sent to clients."},
        {"timeouts", "Clients dropped after --timeout of silence."},
        {"malformed", "Datagrams dropped as malformed."},
        {"unknown_type", "TLVs of an unknown type dropped."},
        {"unexpected_type", "TLVs of a type not accepted there dropped."},
        {"unregistered", "Datagrams from an unknown client or session dropped."},
        {"undecryptable", "Datagrams or messages that failed decryption or authentication."},
        {"handshake_errors", "Failed handshakes or registrations."},
        {"reassembly_dropped", "Fragmented messages dropped before they were complete."},
        {"clients_full", "Registrations refused at --max-clients."},
        {"send_errors", "Datagrams the kernel refused to send."},
        {"overloaded", "Messages dropped because too many were waiting for a worker."},
        {"source_full", "Registrations refused by the per-source limit."},
        {"send_backlogged", "Datagrams queued because the socket's send buffer was full."},
        {"refused", "Forwarded blobs the group profile refused (a commit out of order, say)."},
        {"unrecoverable", "Gaps in a client's stream that the repair layer gave up on."},
        {"slow_receivers", "Clients dropped from reliability by --slow-receiver (slow_receiver events)."},
        {"federation_published", "Envelopes handed to NATS (--federate)."},
        {"federation_publish_errors", "Envelopes NATS refused (disconnected beyond its reconnect buffer)."},
        {"federation_queue_full", "Envelopes dropped because the queue to NATS was full."},
        {"federation_received", "Envelopes received from NATS."},
        {"federation_inbound_full", "Envelopes from NATS dropped because the queue to the relay was full."},
        {"federation_delivered", "Envelopes from NATS delivered to this relay's members."},
        {"federation_malformed", "Envelopes from NATS that did not parse."},
        {"federation_unauthenticated", "Envelopes from NATS whose tag is not the federation key's (dropped)."},
        {"federation_replayed", "Envelopes from NATS whose relay counter did not grow: replays (dropped)."},
        {"federation_own", "This relay's own envelopes that came back from NATS (dropped)."},
        {"federation_refused", "Envelopes from NATS the group profile refused."},
        {"federation_disconnects", "Times the NATS connection was lost."},
        {"federation_reconnects", "Times the NATS connection came back."},
        {"repair_data_sent", "Datagrams first sent with a repair header (--reliability nack)."},
        {"repair_nacks_sent", "NACKs sent for missing datagrams."},
        {"repair_nacks_received", "NACKs received for a known stream."},
        {"repair_nacks_refused", "NACKs for an unknown stream, from a stranger or without a port."},
        {"repair_retransmissions", "Datagrams retransmitted."},
        {"repair_suppressed", "Repairs asked for again too soon: not re-sent."},
        {"repair_retransmitted_bytes", "Bytes of the datagrams retransmitted."},
        {"repair_gone_sent", "Answers that a datagram asked for is no longer cached."},
        {"repair_starts_resent", "NACKs from seq 0 below where a member's part of a shared stream begins, answered with that start again."},
        {"repair_streams_resumed", "Receive streams evicted for room, heard again and resumed where they were."},
        {"repair_starts_after_ack", "NACKs below what a client acknowledged (a process restarted at its address), answered with where its part begins."},
        {"repair_duplicates", "Repaired datagrams already delivered or held."},
        {"repair_delivered_early", "Whole messages delivered ahead of a gap being repaired (--unordered)."},
        {"repair_unrecoverable", "Gaps given up on."},
        {"repair_cache_evictions", "Datagrams evicted from a sender's repair cache."},
        {"repair_held_dropped", "Datagrams beyond the window or the held bytes: dropped."},
        {"flow_window_full", "Sends refused because a stream had its window of unacknowledged bytes."},
        {"flow_window_decreases", "Loss events (NACKs) that halved a stream's congestion window."},
        {"flow_slow_holds", "Clients that went over their window under --slow-receiver hold."},
        {"flow_group_holds", "Holds of the senders while a group's stream cache was full of datagrams younger than group_hold_age (hold)."},
        {"flow_acks_withheld", "ACK rounds withheld from senders while a client was over its window (hold)."},
        {"flow_slow_dropped", "Clients dropped from reliability by the slow-receiver policy."},
        {"flow_slow_released_bytes", "Unacknowledged bytes released by those drops."},
        {"flow_uncached_sent", "Datagrams sent uncached to a client dropped from reliability."},
        {"fec_parity_sent", "Parity datagrams sent as FEC blocks closed (--reliability nack+fec)."},
        {"fec_parity_repairs_sent", "Parity datagrams sent to answer NACKs instead of retransmissions."},
        {"fec_parity_received", "Parity datagrams received and kept."},
        {"fec_recovered", "Datagrams rebuilt from parity (then checked as received ones)."},
        {"fec_parity_dropped", "Parity datagrams refused: malformed, unknown stream or beyond the limits."},
    };
    for (const auto& e : table)
        if (e.name == name)
            return e.help;
    return "A relay counter (docs/CLI.md).";
}

/// The stats event (`reason`: "signal", "interval" or "exit"): every counter by name, and "clients".
inline std::string relay_stats_json(const relay_reading& r, std::string_view reason)
{
    auto o = json_object::event("stats");
    o.str("reason", reason).num("clients", r.clients);
    for (std::size_t i = 0; i < r.counters.size(); ++i)
        o.num(core::relay_counters::name(i), r.counters[i]);
    for (const auto& [name, value] : r.fragmenter)
        o.num(name, value);
    return o.text();
}

/// "relay stats: clients=N" and each counter that is not 0, for people.
inline std::string relay_stats_text(const relay_reading& r)
{
    std::string line = "relay stats: clients=" + std::to_string(r.clients);
    for (std::size_t i = 0; i < r.counters.size(); ++i)
        if (r.counters[i] != 0)
            line += " " + std::string(core::relay_counters::name(i)) + "=" + std::to_string(r.counters[i]);
    for (const auto& [name, value] : r.fragmenter)
        if (value != 0)
            line += " " + std::string(name) + "=" + std::to_string(value);
    return line;
}

/// The reading in Prometheus's text format (version 0.0.4): tlvcast_relay_<counter>_total counters,
/// the tlvcast_relay_clients gauge and tlvcast_relay_start_time_seconds, each labelled with the
/// relay's group and port so that several relays of one host can share a collector.
inline std::string relay_stats_prometheus(const relay_reading& r, std::string_view group, std::uint16_t port,
                                          std::chrono::system_clock::time_point started)
{
    std::string labels = "{group=\"";
    for (const char c : group) { // label value escapes: backslash, quote, newline
        if (c == '\\' || c == '"')
            labels += '\\';
        if (c == '\n')
            labels += "\\n";
        else
            labels += c;
    }
    labels += "\",port=\"" + std::to_string(port) + "\"}";
    std::string out;
    const auto metric = [&](const std::string& name, std::string_view type, std::string_view help, std::uint64_t v) {
        out += "# HELP " + name + " " + std::string(help) + "\n# TYPE " + name + " " + std::string(type) + "\n";
        out += name + labels + " " + std::to_string(v) + "\n";
    };
    for (std::size_t i = 0; i < r.counters.size(); ++i) {
        const std::string_view name = core::relay_counters::name(i);
        metric("tlvcast_relay_" + std::string(name) + "_total", "counter", relay_counter_help(name), r.counters[i]);
    }
    for (const auto& [name, value] : r.fragmenter)
        metric("tlvcast_relay_" + std::string(name) + "_total", "counter", relay_counter_help(name), value);
    metric("tlvcast_relay_clients", "gauge", "Clients registered now.", r.clients);
    const auto start_s = std::chrono::duration_cast<std::chrono::seconds>(started.time_since_epoch()).count();
    metric("tlvcast_relay_start_time_seconds", "gauge", "When the relay started, in seconds since 1970 (UTC).",
           static_cast<std::uint64_t>(start_s));
    return out;
}

/// Replaces `path` by `text` atomically: writes a temporary file in the same directory (a name that
/// node_exporter's textfile collector ignores: it does not end in .prom), then renames it over
/// `path`, so that a reader sees the old file or the new one, never a part. Errors in `ec`.
inline void write_file_atomically(const std::filesystem::path& path, std::string_view text, std::error_code& ec)
{
    ec.clear();
    std::filesystem::path tmp = path;
    tmp += ".tmp." + std::to_string(::getpid());
    {
        std::ofstream f(tmp, std::ios::binary | std::ios::trunc);
        if (f)
            f.write(text.data(), static_cast<std::streamsize>(text.size()));
        if (f)
            f.flush();
        if (!f)
            ec = std::error_code(errno ? errno : EIO, std::generic_category());
    }
    if (!ec)
        std::filesystem::rename(tmp, path, ec);
    if (ec) {
        std::error_code ignored;
        std::filesystem::remove(tmp, ignored);
    }
}

/// Reports the relay's readings: on SIGUSR1 and SIGHUP (neither stops the relay), every
/// --stats-interval, and at the exit. Each report prints the stats (event or people's line) and
/// rewrites the metrics file, which is also rewritten every metrics_period without an interval.
/// Everything runs on the thread of the io_context given (the relay's one thread).
class relay_stats_reporter {
public:
    struct options {
        bool json = false;
        bool quiet = false;              ///< -q: no stats at the exit (the ones asked for still print)
        duration interval{};             ///< --stats-interval; zero: none
        std::string metrics_file;        ///< --metrics-file; empty: none
        duration metrics_period = std::chrono::seconds(15);
        std::string group;               ///< the labels of the metrics
        std::uint16_t port = 0;
    };

    /// Catches SIGUSR1 and SIGHUP from now on. `read` gives a reading, on the io thread.
    relay_stats_reporter(asio::io_context& io, options o, std::function<relay_reading()> read)
        : o_(std::move(o)), read_(std::move(read)), signals_(io, SIGUSR1, SIGHUP), timer_(io),
          started_(std::chrono::system_clock::now())
    {
    }

    /// Writes the metrics file a first time (std::system_error when it cannot: a failure at start),
    /// then waits for the signals and the timer.
    void start()
    {
        if (!o_.metrics_file.empty()) {
            std::error_code ec;
            write_file_atomically(o_.metrics_file, relay_stats_prometheus(read_(), o_.group, o_.port, started_), ec);
            if (ec)
                throw std::system_error(ec, "cannot write the metrics file " + o_.metrics_file);
        }
        wait_signal();
        arm_timer();
    }

    /// The exit's report, once the relay stopped; stops the signals and the timer.
    void finish()
    {
        signals_.cancel();
        timer_.cancel();
        report(o_.quiet ? nullptr : "exit");
    }

private:
    void wait_signal()
    {
        signals_.async_wait([this](std::error_code ec, int) {
            if (ec)
                return;
            report("signal");
            wait_signal();
        });
    }

    void arm_timer()
    {
        const bool metrics = !o_.metrics_file.empty();
        if (o_.interval == duration::zero() && !metrics)
            return;
        timer_.expires_after(o_.interval != duration::zero() ? o_.interval : o_.metrics_period);
        timer_.async_wait([this](std::error_code ec) {
            if (ec)
                return;
            report(o_.interval != duration::zero() ? "interval" : nullptr);
            arm_timer();
        });
    }

    // Prints the stats unless `reason` is null, and rewrites the metrics file.
    void report(const char* reason)
    {
        const relay_reading r = read_();
        if (reason)
            print_line(o_.json ? relay_stats_json(r, reason) : relay_stats_text(r));
        if (o_.metrics_file.empty())
            return;
        std::error_code ec;
        write_file_atomically(o_.metrics_file, relay_stats_prometheus(r, o_.group, o_.port, started_), ec);
        if (ec && !metrics_failing_) { // said once, until a write succeeds again
            const std::string what = "cannot write the metrics file " + o_.metrics_file + ": " + ec.message();
            std::cerr << "tlvcast-relay: warning: " << what << "\n";
            if (o_.json)
                print_line(json_object::event("warning").str("warning", what).text());
        }
        metrics_failing_ = static_cast<bool>(ec);
    }

    options o_;
    std::function<relay_reading()> read_;
    asio::signal_set signals_;
    asio::steady_timer timer_;
    std::chrono::system_clock::time_point started_;
    bool metrics_failing_ = false;
};

} // namespace tlvcast::examples
