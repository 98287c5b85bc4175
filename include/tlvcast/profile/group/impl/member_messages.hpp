// SPDX-License-Identifier: BSL-1.0
// member's application messages: sign, then seal under the sender's ratchet; open, then verify.
// Included at the bottom of profile/group/member.hpp, which declares these members.
#pragma once

#include <tlvcast/profile/group/member.hpp>

namespace tlvcast::profile::group {

namespace detail {
// What a sender signs: "tlvcast group v1 message" || header || message.
inline std::vector<std::byte> message_to_sign(bytes header, bytes message)
{
    std::vector<std::byte> m;
    m.reserve(labels::message.size() + header.size() + message.size());
    append(m, bytes_of(labels::message));
    append(m, header);
    append(m, message);
    return m;
}
} // namespace detail

/// The largest message one GROUP_MESSAGE carries.
inline constexpr std::size_t max_message_size =
    0xffff - message_header_size - signature_size - crypto::aead_tag_size;

template <class Suite, class Aead, class Random>
void member<Suite, Aead, Random>::seal(bytes message, std::vector<std::byte>& blob, std::error_code& ec)
{
    ec = {};
    if (!current_) {
        ec = errc::not_a_member;
        return;
    }
    if (message.size() > max_message_size) {
        ec = errc::message_too_large;
        return;
    }
    state& s = *current_;
    auto step = s.chains[s.me].next(ec);
    if (!step)
        return;
    const auto& [generation, key] = *step;
    blob.clear();
    wire::tlv_appender a(blob);
    const std::size_t mark = a.begin(wire::tlv_type::group_message);
    std::vector<std::byte> header;
    header.reserve(message_header_size);
    detail::append(header, s.gid);
    detail::put_be(header, s.epoch, 8);
    detail::put_be(header, s.me, 2);
    detail::put_be(header, generation, 4);
    a.put_raw(header);
    std::vector<std::byte> content(message.begin(), message.end());
    content.resize(message.size() + signature_size);
    me_->sign(detail::message_to_sign(header, message),
              std::span(content).subspan(message.size()).template first<signature_size>());
    const std::size_t at = blob.size();
    blob.resize(at + content.size() + crypto::aead_tag_size);
    Aead(key.span().template first<crypto::aead_key_size>())
        .seal(key.span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(), header, content,
              std::span(blob).subspan(at), ec);
    if (!ec)
        a.end(mark, ec);
    if (ec) {
        blob.clear();
        return;
    }
    ++counts_.messages_sealed;
}

template <class Suite, class Aead, class Random>
std::optional<crypto::fingerprint> member<Suite, Aead, Random>::open(bytes value, std::vector<std::byte>& text,
                                                                     std::error_code& ec)
{
    ec = {};
    text.clear();
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
    std::vector<std::byte> content(m.sealed.size());
    const std::size_t n = Aead(key->span().template first<crypto::aead_key_size>())
                              .open(key->span().template subspan<crypto::aead_key_size, crypto::aead_nonce_size>(),
                                    m.header, m.sealed, content, ec);
    if (ec || n < signature_size) {
        ec = errc::decrypt_failed;
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    const bytes msg = std::span(content).first(n - signature_size);
    if (!me_->verify(s->roster[m.sender].identity, detail::message_to_sign(m.header, msg),
                     std::span(content).subspan(n - signature_size, signature_size))) {
        ec = errc::authentication_failed;
        ++counts_.messages_rejected;
        return std::nullopt;
    }
    if (const auto gap = chain.accept(m.generation, opt_.max_skipped_keys)) {
        ++counts_.gaps;
        note({notice::kind::gap, s->epoch, s->roster.size(), s->fingerprints[m.sender], false, gap->from, gap->to});
    }
    text.assign(msg.begin(), msg.end());
    ++counts_.messages_opened;
    return s->fingerprints[m.sender];
}

} // namespace tlvcast::profile::group
