// SPDX-License-Identifier: BSL-1.0
// member's application messages: sign, then seal under the sender's ratchet; open, then verify.
// Included at the bottom of profile/group/member.hpp, which declares these members.
#pragma once

#include <tlvcast/profile/group/batch.hpp>
#include <tlvcast/profile/group/member.hpp>

namespace tlvcast::profile::group {

namespace detail {
// What a sender signs: label || header || content. The label tells a message from a batch: a relay
// that relabels one as the other (the AEAD does not cover the TLV type) breaks the signature.
inline std::vector<std::byte> message_to_sign(std::string_view label, bytes header, bytes content)
{
    std::vector<std::byte> m;
    m.reserve(label.size() + header.size() + content.size());
    append(m, bytes_of(label));
    append(m, header);
    append(m, content);
    return m;
}
} // namespace detail

/// The largest message one GROUP_MESSAGE carries.
inline constexpr std::size_t max_message_size =
    0xffff - message_header_size - signature_size - crypto::aead_tag_size;

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::seal(bytes message, std::vector<std::byte>& blob, std::error_code& ec)
{
    if (message.size() > max_message_size) {
        ec = errc::message_too_large;
        return;
    }
    seal_content(wire::tlv_type::group_message, labels::message, message, blob, ec);
    if (!ec)
        ++counts_.messages_sealed;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::seal_part(bytes header, bytes body, std::vector<std::byte>& blob,
                                            std::error_code& ec)
{
    if (header.size() + body.size() > max_message_size) {
        ec = errc::message_too_large;
        return;
    }
    // Sealing copies the content anyway (signed, then encrypted in place): one buffer for both.
    std::vector<std::byte> content;
    content.reserve(header.size() + body.size());
    detail::append(content, header);
    detail::append(content, body);
    seal_content(wire::tlv_type::group_part, labels::part, content, blob, ec);
    if (!ec)
        ++counts_.messages_sealed;
}

template <class Suite, class Aead, class Random>
std::size_t member<Suite, Aead, Random>::seal_batch(std::span<const bytes> messages, std::size_t budget,
                                                    std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    budget = std::min<std::size_t>(budget, 0xffff + wire::tlv_header_size); // one blob at most, whatever the caller's
    const std::size_t n = std::min(batch_fit(messages, budget), messages.size());
    if (n < 2) { // one message: the plain format (a message too big for the budget goes alone)
        if (messages.empty())
            return 0;
        seal(messages.front(), blob, ec);
        return ec ? 0 : 1;
    }
    std::vector<std::byte> content;
    content.reserve(budget);
    for (const bytes m : messages.first(n))
        append_batch_entry(content, m);
    seal_content(wire::tlv_type::group_batch, labels::batch, content, blob, ec);
    if (ec)
        return 0;
    counts_.messages_sealed += n;
    return n;
}

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::seal_content(wire::tlv_type type, std::string_view label, bytes content,
                                               std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    if (!current_) {
        ec = errc::not_a_member;
        return;
    }
    state& s = *current_;
    auto step = s.chains[s.me].next(ec);
    if (!step)
        return;
    const auto& [generation, key] = *step;
    blob.clear();
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(type);
    std::vector<std::byte> header;
    header.reserve(message_header_size);
    detail::append(header, s.gid);
    detail::put_be(header, s.epoch, 8);
    detail::put_be(header, s.me, 2);
    detail::put_be(header, generation, 4);
    a.put_raw(header);
    std::vector<std::byte> sealed(content.begin(), content.end());
    sealed.resize(content.size() + signature_size);
    me_->sign(detail::message_to_sign(label, header, content),
              std::span(sealed).subspan(content.size()).template first<signature_size>());
    const std::size_t at = blob.size();
    blob.resize(at + sealed.size() + crypto::aead_tag_size);
    Aead(key.span().template first<crypto::aead_key_size>())
        .seal(key.span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), header, sealed,
              std::span(blob).subspan(at), ec);
    if (!ec)
        a.end(mark, ec);
    if (ec)
        blob.clear();
}

template <class Suite, class Aead, class Random>
std::optional<crypto::fingerprint> member<Suite, Aead, Random>::open(bytes value, std::vector<std::byte>& text,
                                                                     std::error_code& ec)
{
    auto who = open_content(value, labels::message, text, [](bytes) { return true; }, ec);
    if (who)
        ++counts_.messages_opened;
    return who;
}

template <class Suite, class Aead, class Random>
std::optional<crypto::fingerprint> member<Suite, Aead, Random>::open_part(bytes value, std::vector<std::byte>& text,
                                                                          std::error_code& ec)
{
    auto who = open_content(value, labels::part, text,
                            [](bytes c) { return c.size() >= wire::large_part_header_size; }, ec);
    if (who)
        ++counts_.messages_opened;
    return who;
}

template <class Suite, class Aead, class Random>
std::optional<crypto::fingerprint>
member<Suite, Aead, Random>::open_batch(bytes value, std::vector<std::vector<std::byte>>& texts, std::error_code& ec)
{
    std::vector<std::byte> content;
    auto who = open_content(
        value, labels::batch, content,
        [&texts](bytes c) {
            std::error_code parse;
            read_batch(c, texts, parse);
            return !parse;
        },
        ec);
    if (who)
        counts_.messages_opened += texts.size();
    else
        texts.clear();
    return who;
}

template <class Suite, class Aead, class Random>
template <class Check>
std::optional<crypto::fingerprint> member<Suite, Aead, Random>::open_content(bytes value, std::string_view label,
                                                                             std::vector<std::byte>& content,
                                                                             Check well_formed, std::error_code& ec)
{
    ec = {};
    content.clear();
    const message_view m = read_message(value);
    state* s = current_ && current_->epoch == m.epoch && current_->gid == m.gid       ? current_.get()
               : previous_ && previous_->epoch == m.epoch && previous_->gid == m.gid ? previous_.get()
                                                                                      : nullptr;
    if (!s) {
        if (!current_)
            ec = errc::not_a_member;
        else {
            ec = errc::wrong_epoch;
            if (m.gid == current_->gid && m.epoch > current_->epoch)
                want_sync(current_->epoch);
        }
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    if (m.sender >= s->roster.size() || m.sender == s->me) {
        // Its own message back from a multicast data group is a duplicate; an index out of range is not.
        ec = m.sender == s->me ? errc::replayed : errc::malformed;
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    ratchet<Suite>& chain = s->chains[m.sender];
    const auto key = chain.find(m.generation, opt_.max_skip, ec);
    if (!key) {
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    content.resize(m.sealed.size());
    const std::size_t n = Aead(key->span().template first<crypto::aead_key_size>())
                              .open(key->span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(),
                                    m.header, m.sealed, content, ec);
    if (ec || n < signature_size) {
        ec = errc::decrypt_failed;
        content.clear();
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    const bytes signed_part = std::span(content).first(n - signature_size);
    if (!me_->verify(s->roster[m.sender].identity, detail::message_to_sign(label, m.header, signed_part),
                     std::span(content).subspan(n - signature_size, signature_size))) {
        ec = errc::authentication_failed;
        content.clear();
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    // Signed by its sender from here on: even a batch that does not parse spends its generation.
    const bool parsed = well_formed(signed_part);
    if (const auto gap = chain.accept(m.generation, opt_.max_skipped_keys)) {
        ++counts_.gaps;
        note({notice::kind::gap, s->epoch, s->roster.size(), s->fingerprints[m.sender], false, gap->from, gap->to});
    }
    if (!parsed) {
        ec = errc::malformed;
        content.clear();
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    content.resize(n - signature_size);
    return s->fingerprints[m.sender];
}

} // namespace tlvcast::profile::group
