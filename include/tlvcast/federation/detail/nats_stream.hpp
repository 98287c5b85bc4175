// SPDX-License-Identifier: BSL-1.0
// JetStream for the NATS link (nats_options::jetstream): the group's stream, its ordered consumer,
// and publication until stored. docs/FEDERATION.md, "JetStream".
#pragma once

#include <nats/nats.h>

#include <charconv>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

namespace tlvcast::federation::detail {

/// The stream's settings (named defaults: how much of a group's traffic the cluster keeps).
struct stream_limits {
    static constexpr std::int64_t default_max_bytes = 256ll << 20;
    static constexpr std::chrono::minutes default_max_age{10};
    static constexpr std::chrono::minutes default_duplicates{2}; ///< the window in which a retry is deduplicated
    int replicas = 3;
    std::int64_t max_bytes = default_max_bytes;
    std::chrono::nanoseconds max_age = default_max_age;
    std::chrono::nanoseconds duplicates = default_duplicates;
};

/// The stream of subject `subject`, named `name`, made if it is not there. False (try again later)
/// while JetStream cannot answer (the cluster electing its leader, say).
inline bool ensure_stream(jsCtx* js, const std::string& name, const std::string& subject, const stream_limits& l)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject.c_str()};
    cfg.Name = name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = l.replicas;
    cfg.MaxBytes = l.max_bytes;
    cfg.MaxAge = l.max_age.count();
    cfg.Duplicates = l.duplicates.count();
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &err);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return true;
    if (err != JSStreamNameExistErr)
        return false;
    // Another relay made it first; one of an older tlvcast had the group subject only, and gets
    // the commit subject too (an update with the same settings changes nothing).
    si = nullptr;
    s = js_UpdateStream(&si, js, &cfg, nullptr, &err);
    jsStreamInfo_Destroy(si);
    return true; // a refused update (other settings) shows as publish errors on the commit subject
}

/// An ordered push consumer of `subject`: from stream sequence `from_seq` when it is not 0, else from
/// `since` (UTC, ns since 1970); every message stored from then on, in stream order, none twice.
/// libnats re-creates it when its heartbeats stop; the link also does after a reconnection (libnats
/// alone was seen to stall when the node it was on died), and drops what it already delivered.
inline natsStatus subscribe_ordered(natsSubscription** sub, jsCtx* js, const std::string& stream,
                                    const std::string& subject, natsMsgHandler cb, void* closure,
                                    std::uint64_t from_seq, std::int64_t since)
{
    jsSubOptions so;
    jsSubOptions_Init(&so);
    so.Stream = stream.c_str(); // bound by name: `subject` is a wildcard over the stream's subjects
    so.Ordered = true;
    if (from_seq != 0) {
        so.Config.DeliverPolicy = js_DeliverByStartSequence;
        so.Config.OptStartSeq = from_seq;
    } else {
        so.Config.DeliverPolicy = js_DeliverByStartTime;
        so.Config.OptStartTime = since;
    }
    so.Config.Heartbeat = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
    jsErrCode err = static_cast<jsErrCode>(0);
    return js_Subscribe(sub, js, subject.c_str(), cb, closure, nullptr, &so, &err);
}

/// The stream's last sequence; 0 when JetStream does not answer now.
inline std::uint64_t stream_last_seq(jsCtx* js, const std::string& name)
{
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    std::uint64_t last = 0;
    if (js_GetStreamInfo(&si, js, name.c_str(), nullptr, &err) == NATS_OK)
        last = si->State.LastSeq;
    jsStreamInfo_Destroy(si);
    return last;
}

/// The header that says where a commit expects the commit subject to end.
inline constexpr const char* expected_header = "Nats-Expected-Last-Subject-Sequence";

/// The expectation a stored message was published with (JetStream keeps the headers); none when it
/// has none, or not a number.
inline std::optional<std::uint64_t> stored_expectation(natsMsg* msg)
{
    const char* v = nullptr;
    if (natsMsgHeader_Get(msg, expected_header, &v) != NATS_OK || !v)
        return std::nullopt;
    const std::string_view text(v);
    std::uint64_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || text.empty())
        return std::nullopt;
    return n;
}

enum class publish_result { stored, conflict, failed };

/// Publishes until the stream acknowledges (tries `pause` apart for at most `retry_for`: a stream
/// whose leader died needs seconds to elect another): a retry after a lost acknowledgement is
/// deduplicated by `msg_id` (the stream answers a duplicate as stored, before any other check).
/// With `expected`, stored only if the subject's last message in the stream is at that sequence
/// (0: it has none), Nats-Expected-Last-Subject-Sequence: else `conflict`, not retried. libnats's
/// jsPubOptions::ExpectLastSubjectSeq cannot say 0, hence the header here.
template <class Closed>
publish_result publish_stored(jsCtx* js, const std::string& subject, const void* data, std::size_t size,
                              const std::string& msg_id, std::chrono::milliseconds retry_for,
                              std::chrono::milliseconds pause, Closed closed,
                              std::optional<std::uint64_t> expected = std::nullopt)
{
    const auto deadline = std::chrono::steady_clock::now() + retry_for;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = 1000;
    const std::string expect = expected ? std::to_string(*expected) : std::string();
    while (!closed()) {
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, static_cast<const char*>(data), static_cast<int>(size));
        if (s == NATS_OK && expected)
            s = natsMsgHeader_Set(msg, expected_header, expect.c_str());
        jsPubAck* ack = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        if (s == NATS_OK)
            s = js_PublishMsg(&ack, js, msg, &po, &err);
        jsPubAck_Destroy(ack);
        natsMsg_Destroy(msg);
        if (s == NATS_OK)
            return publish_result::stored;
        if (err == JSStreamWrongLastSequenceErr)
            return publish_result::conflict;
        if (std::chrono::steady_clock::now() >= deadline)
            return publish_result::failed;
        std::this_thread::sleep_for(pause);
    }
    return publish_result::failed;
}

} // namespace tlvcast::federation::detail
