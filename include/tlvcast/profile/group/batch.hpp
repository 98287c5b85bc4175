// SPDX-License-Identifier: BSL-1.0
// GROUP_BATCH's content: several application messages under one generation and one signature, so
// that a recipient verifies one Ed25519 signature per datagram rather than per message.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/profile/group/codec.hpp>

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::group {

/// Most messages one GROUP_BATCH may carry: a recipient queues them all as events at once, so this
/// bounds what one datagram adds to another member's event queue (a 1,196-byte datagram holds 26
/// messages of 40 bytes, but 256 empty ones fit in a 626-byte blob).
inline constexpr std::size_t max_batch_messages = 256;
/// Each message's length prefix in a batch: u16.
inline constexpr std::size_t batch_entry_overhead = 2;
/// What a batch costs beyond its entries: TLV header, GROUP_MESSAGE header, signature, AEAD tag.
inline constexpr std::size_t batch_fixed_size =
    wire::tlv_header_size + message_header_size + signature_size + crypto::aead_tag_size;

/// Appends one entry: length(2) || message.
inline void append_batch_entry(std::vector<std::byte>& content, bytes message)
{
    detail::put_be(content, message.size(), 2);
    detail::append(content, message);
}

/// How many of `messages`, from the first, fit in a blob of `budget` bytes (at most
/// max_batch_messages, each shorter than 64 KiB).
inline std::size_t batch_fit(std::span<const bytes> messages, std::size_t budget) noexcept
{
    std::size_t size = batch_fixed_size, n = 0;
    for (const bytes m : messages) {
        if (n == max_batch_messages || m.size() > 0xffff || size + batch_entry_overhead + m.size() > budget)
            break;
        size += batch_entry_overhead + m.size();
        ++n;
    }
    return n;
}

/// Splits a batch's content into its messages. Errors: malformed (a truncated entry, no entry, or
/// more than max_batch_messages).
inline void read_batch(bytes content, std::vector<std::vector<std::byte>>& messages, std::error_code& ec)
{
    ec = {};
    messages.clear();
    while (!content.empty()) {
        if (content.size() < batch_entry_overhead || messages.size() == max_batch_messages) {
            ec = errc::malformed;
            break;
        }
        const std::size_t n = detail::get_be(content, 2);
        content = content.subspan(batch_entry_overhead);
        if (n > content.size()) {
            ec = errc::malformed;
            break;
        }
        messages.emplace_back(content.begin(), content.begin() + static_cast<std::ptrdiff_t>(n));
        content = content.subspan(n);
    }
    if (!ec && messages.empty())
        ec = errc::malformed;
    if (ec)
        messages.clear();
}

} // namespace tlvcast::profile::group
