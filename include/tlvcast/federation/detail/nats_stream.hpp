// SPDX-License-Identifier: BSL-1.0
// JetStream for the NATS link (nats_options::jetstream): the group's stream, its ordered consumer,
// and publication until stored. docs/FEDERATION.md, "JetStream".
#pragma once

#include <tlvcast/federation/concepts.hpp>

#include <nats/nats.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <thread>
#include <utility>

namespace tlvcast::federation::detail {

/// The streams' settings (named defaults: how much of a group's traffic the cluster keeps). The
/// group's messages (welcome pages, presence, members' blobs) go through a window: kept at most
/// `max_age` and `max_bytes`, the oldest removed first. Its commits go through a stream of their
/// own that removes nothing: no age limit, and once `commit_max_bytes` are stored it refuses new
/// commits (DiscardNew) rather than remove an old one, since a commit removed before a relay read
/// it leaves that relay out of step with the order, and one removed before a relay started lets
/// that relay take the order for empty (docs/FEDERATION.md, "Commits in a stream of their own").
struct stream_limits {
    static constexpr std::int64_t default_max_bytes = 256ll << 20;
    static constexpr std::chrono::minutes default_max_age{10};
    static constexpr std::chrono::minutes default_duplicates{2}; ///< the window in which a retry is deduplicated
    /// A commit is a few KiB (the roster's hash, removals, key packages, a signature): 64 MiB holds
    /// thousands of membership changes; an operator purges the stream when a group is founded again.
    static constexpr std::int64_t default_commit_max_bytes = 64ll << 20;
    int replicas = 3;
    std::int64_t max_bytes = default_max_bytes;
    std::chrono::nanoseconds max_age = default_max_age;
    std::chrono::nanoseconds duplicates = default_duplicates;
    std::int64_t commit_max_bytes = default_commit_max_bytes;
};

/// Which of a group's two streams.
enum class stream_role { messages, commits };

/// The stream of subject `subject`, named `name`, made if it is not there, with the limits of its
/// role. False (try again later) while JetStream cannot answer (the cluster electing its leader,
/// say), or while another stream holds the subject (the group stream of an older tlvcast, which held
/// both subjects, until its update ran).
inline bool ensure_stream(jsCtx* js, const std::string& name, const std::string& subject, const stream_limits& l,
                          stream_role role = stream_role::messages)
{
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    const char* subjects[] = {subject.c_str()};
    cfg.Name = name.c_str();
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Replicas = l.replicas;
    cfg.Duplicates = l.duplicates.count();
    if (role == stream_role::commits) {
        cfg.MaxBytes = l.commit_max_bytes;
        cfg.MaxAge = 0; // none
        cfg.Discard = js_DiscardNew;
    } else {
        cfg.MaxBytes = l.max_bytes;
        cfg.MaxAge = l.max_age.count();
    }
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    natsStatus s = js_AddStream(&si, js, &cfg, nullptr, &err);
    jsStreamInfo_Destroy(si);
    if (s == NATS_OK)
        return true;
    if (err != JSStreamNameExistErr)
        return false;
    // Another relay made it first; the group stream of an older tlvcast held the commit subject too
    // (tlvcast.*.<group>), and gives it up to the commit stream (an update with the same settings
    // changes nothing). Its commits stay in it, read by no one.
    si = nullptr;
    s = js_UpdateStream(&si, js, &cfg, nullptr, &err);
    jsStreamInfo_Destroy(si);
    return true; // a refused update (other settings) shows as publish errors, or the commit stream's set-up waiting
}

/// How long add_push_consumer() waits for the server's answer, ms.
inline constexpr std::int64_t add_consumer_wait_ms = 1000;

/// A push consumer of `stream` (only `subject`) delivering to `deliver`: from stream sequence
/// `from_seq` when it is not 0, else from `since` (UTC, ns since 1970; 0: the first stored); what is stored from then on,
/// in stream order, named `name` (ephemeral: the server removes it once its inbox has no interest).
/// Made by the link, read by a plain subscription
/// (stream_consumer), not by js_Subscribe: libnats's JetStream subscriptions interpret status
/// headers of stored messages as the server's own (review_consumer_nats.cpp).
inline natsStatus add_push_consumer(jsCtx* js, const std::string& stream, const std::string& subject,
                                    const char* deliver, std::uint64_t from_seq, std::int64_t since,
                                    const std::string& name)
{
    jsConsumerConfig cc;
    jsConsumerConfig_Init(&cc);
    cc.Name = name.c_str();
    cc.DeliverSubject = deliver;
    cc.FilterSubject = subject.c_str();
    if (from_seq != 0) {
        cc.DeliverPolicy = js_DeliverByStartSequence;
        cc.OptStartSeq = from_seq;
    } else if (since <= 0) { // from the stream's first message (catch-up)
        cc.DeliverPolicy = js_DeliverAll;
    } else {
        cc.DeliverPolicy = js_DeliverByStartTime;
        cc.OptStartTime = since;
    }
    // What libnats's Ordered mode set, but its re-creation at every gap: an ephemeral in-memory
    // consumer of one replica, nothing to acknowledge, each message sent once, flow-controlled (a
    // slow reader holds the server back rather than losing what its buffer cannot hold).
    cc.AckPolicy = js_AckNone;
    cc.MaxDeliver = 1;
    cc.FlowControl = true;
    cc.MemoryStorage = true;
    cc.Replicas = 1;
    cc.Heartbeat = std::chrono::nanoseconds(std::chrono::seconds(1)).count();
    // Not the context's 5 s: the meta leader may place the consumer on a node that died (a relay
    // that restarted while one node of three was down waited 5 s per such try, 5-17 s in the e2e
    // test); a live node answers in milliseconds, and the caller tries again under a new name.
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = add_consumer_wait_ms;
    jsConsumerInfo* ci = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    const natsStatus s = js_AddConsumer(&ci, js, stream.c_str(), &cc, &o, &err);
    jsConsumerInfo_Destroy(ci);
    return s;
}

/// Deletes consumer `name` of `stream`, waiting a moment for the answer at most: one on a node that
/// died kept the context's whole 5 s wait (review_consumer2_nats.cpp); an ephemeral consumer left
/// behind goes by itself once its inbox has no interest.
inline natsStatus delete_consumer(jsCtx* js, const std::string& stream, const std::string& name)
{
    jsOptions o;
    jsOptions_Init(&o);
    o.Wait = 250; // ms
    jsErrCode err = static_cast<jsErrCode>(0);
    return js_DeleteConsumer(js, stream.c_str(), name.c_str(), &o, &err);
}

/// The first sequence a stream still holds and its last.
struct stream_seq_state {
    std::uint64_t first = 0, last = 0;
};
/// None when JetStream does not answer now.
inline std::optional<stream_seq_state> stream_seqs(jsCtx* js, const std::string& name)
{
    jsStreamInfo* si = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    std::optional<stream_seq_state> st;
    if (js_GetStreamInfo(&si, js, name.c_str(), nullptr, &err) == NATS_OK)
        st = stream_seq_state{si->State.FirstSeq, si->State.LastSeq};
    jsStreamInfo_Destroy(si);
    return st;
}

/// The header that says where a commit expects the commit subject to end.
inline constexpr const char* expected_header = "Nats-Expected-Last-Subject-Sequence";

/// The header on a commit that names the messages' stream sequence of the last message its relay
/// stored or read before it (its welcome pages, the departures that let its member found a group). A hint for the readers, who hand the commit on
/// only after the messages up to it: anyone who may publish writes it, so a reader caps it by what
/// the stream holds, and a malformed one is ignored.
inline constexpr const char* messages_before_header = "Tlvcast-Messages-Before";
/// The same on a message: the commit stream's sequence of the last commit its relay had read (a
/// new member's first message comes after the commit that added it, everywhere).
inline constexpr const char* commits_before_header = "Tlvcast-Commits-Before";

/// A stream sequence written in a header: 1 to 20 decimal digits, nothing else, no overflow; none
/// for anything else (null, empty, a sign, a space, a digit too many).
inline std::optional<std::uint64_t> parse_seq(const char* text) noexcept
{
    if (!text || !*text)
        return std::nullopt;
    std::uint64_t v = 0;
    for (const char* p = text; *p; ++p) {
        if (*p < '0' || *p > '9' || p - text >= 20)
            return std::nullopt;
        const auto d = static_cast<std::uint64_t>(*p - '0');
        if (v > (UINT64_MAX - d) / 10)
            return std::nullopt;
        v = v * 10 + d;
    }
    return v;
}

/// The stream sequence of the last message the stream still holds on `subject`: 0 when it holds
/// none (it never had one, or its limits removed it), none when JetStream does not answer now.
inline std::optional<std::uint64_t> stored_last_seq(jsCtx* js, const std::string& stream, const std::string& subject)
{
    natsMsg* msg = nullptr;
    jsErrCode err = static_cast<jsErrCode>(0);
    const natsStatus s = js_GetLastMsg(&msg, js, stream.c_str(), subject.c_str(), nullptr, &err);
    std::optional<std::uint64_t> last;
    if (s == NATS_OK)
        last = natsMsg_GetSequence(msg);
    else if (err == JSNoMessageFoundErr)
        last = 0;
    natsMsg_Destroy(msg);
    return last;
}

enum class publish_result { stored, conflict, full, failed };

/// Publishes until the stream acknowledges (tries `pause` apart for at most `retry_for`: a stream
/// whose leader died needs seconds to elect another): a retry after a lost acknowledgement is
/// deduplicated by `msg_id` (the stream answers a duplicate as stored, before any other check).
/// With `expected`, stored only if the subject's last message in the stream is at that sequence
/// (0: it has none), Nats-Expected-Last-Subject-Sequence: else `conflict`, not retried. A stream that
/// refuses to store it (the commit stream full: DiscardNew) gives `full`, not retried. libnats's
/// jsPubOptions::ExpectLastSubjectSeq cannot say 0, hence the header here. With `messages_before`,
/// a commit's messages_before_header (or `hint_header`: a message's commits_before_header). `stored_seq`, when given, gets the stream sequence it was
/// stored at (a duplicate's: the first copy's).
template <class Closed>
publish_result publish_stored(jsCtx* js, const std::string& subject, const void* data, std::size_t size,
                              const std::string& msg_id, std::chrono::milliseconds retry_for,
                              std::chrono::milliseconds pause, Closed closed,
                              std::optional<std::uint64_t> expected = std::nullopt,
                              std::optional<std::uint64_t> messages_before = std::nullopt,
                              std::uint64_t* stored_seq = nullptr, const char* hint_header = messages_before_header)
{
    const auto deadline = std::chrono::steady_clock::now() + retry_for;
    jsPubOptions po;
    jsPubOptions_Init(&po);
    po.MsgId = msg_id.c_str();
    po.MaxWait = 1000;
    const std::string expect = expected ? std::to_string(*expected) : std::string();
    const std::string before = messages_before ? std::to_string(*messages_before) : std::string();
    while (!closed()) {
        natsMsg* msg = nullptr;
        natsStatus s = natsMsg_Create(&msg, subject.c_str(), nullptr, static_cast<const char*>(data), static_cast<int>(size));
        if (s == NATS_OK && expected)
            s = natsMsgHeader_Set(msg, expected_header, expect.c_str());
        if (s == NATS_OK && messages_before)
            s = natsMsgHeader_Set(msg, hint_header, before.c_str());
        jsPubAck* ack = nullptr;
        jsErrCode err = static_cast<jsErrCode>(0);
        if (s == NATS_OK)
            s = js_PublishMsg(&ack, js, msg, &po, &err);
        if (s == NATS_OK && ack && stored_seq)
            *stored_seq = ack->Sequence;
        jsPubAck_Destroy(ack);
        natsMsg_Destroy(msg);
        if (s == NATS_OK)
            return publish_result::stored;
        if (err == JSStreamWrongLastSequenceErr)
            return publish_result::conflict;
        if (err == JSStreamStoreFailedErr) // nats-server: "maximum bytes exceeded" (or messages) under DiscardNew
            return publish_result::full;
        if (std::chrono::steady_clock::now() >= deadline)
            return publish_result::failed;
        std::this_thread::sleep_for(pause);
    }
    return publish_result::failed;
}

/// A commit for the order (ordering_link::publish_ordered): publish_stored() to `subject` expecting
/// the commit subject's last message at `expected`. On a conflict, the commit it continues may have
/// left the stream (max_age, max_bytes) with nothing newer after it: then it is offered once more,
/// expecting what the stream holds (expectation_after_conflict; the envelope still says what it
/// continues, so the readers' order_guard keeps it).
template <class Closed>
publish_result publish_commit(jsCtx* js, const std::string& stream, const std::string& subject,
                              std::span<const std::byte> envelope, const std::string& msg_id,
                              std::chrono::milliseconds retry_for, Closed closed, std::uint64_t expected,
                              std::uint64_t messages_before)
{
    const auto store = [&](std::uint64_t e, const std::string& id) {
        return publish_stored(js, subject, envelope.data(), envelope.size(), id, retry_for,
                              std::chrono::milliseconds(100), closed, e, messages_before);
    };
    const publish_result first = store(expected, msg_id);
    if (first != publish_result::conflict)
        return first;
    const auto held = stored_last_seq(js, stream, subject);
    const auto again = held ? expectation_after_conflict(expected, *held) : std::nullopt;
    if (!again)
        return first;
    // Under an id nobody can know yet: the refused try showed its id to every reader of the subject,
    // and junk stored under it first would make the stream drop this offer as a duplicate.
    std::random_device rd;
    std::string id = msg_id + "-";
    for (int i = 0; i < 4; ++i)
        id += std::to_string(rd());
    return store(*again, id);
}

} // namespace tlvcast::federation::detail
