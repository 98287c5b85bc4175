// SPDX-License-Identifier: BSL-1.0
// The client's side of SECURE_DELIVER_BATCH: checked whole, kept once, handed out a message at a time.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/profile/secure/batch.hpp>
#include <tlvcast/profile/secure/detail/party.hpp>
#include <tlvcast/wire/address.hpp>
#include <tlvcast/wire/types.hpp>

#include <cstddef>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::profile::secure::detail {

/// A batch's messages become events one by one (client_receive() returns the first, poll_message()
/// the rest), so the batch outlives the record it came in: its value is copied once into a buffer
/// reused from batch to batch, after the whole batch was checked (a malformed one yields nothing).
/// Not copyable or movable (the cursor views its own buffer); not thread-safe.
class batch_inbox {
public:
    batch_inbox() = default;
    batch_inbox(const batch_inbox&) = delete;
    batch_inbox& operator=(const batch_inbox&) = delete;

    /// SECURE_DELIVER_BATCH's value: the sender, its identity and the first message (in `text`).
    /// Errors: malformed (short value, a batch check_batch() refuses), address errors; then the
    /// inbox is empty.
    crypto::received take(std::span<const std::byte> value, std::vector<std::byte>& text, std::error_code& ec)
    {
        ec = {};
        clear();
        if (value.size() < wire::secure_deliver_fixed_size) {
            ec = errc::malformed;
            return {};
        }
        crypto::received r;
        r.peer = wire::decode_tagged_address(value, ec);
        if (ec)
            return {};
        const auto batch = value.subspan(wire::secure_deliver_fixed_size);
        check_batch(batch, ec);
        if (ec)
            return {};
        r.identity = read_fingerprint(value.subspan(wire::tagged_address_size));
        r.what = crypto::received::kind::message;
        sender_ = r;
        value_.assign(batch.begin(), batch.end());
        cursor_ = batch_cursor(value_);
        next(r, text);
        return r;
    }

    /// The batch's next message and its sender; false when none is left.
    bool next(crypto::received& r, std::vector<std::byte>& text)
    {
        std::span<const std::byte> m;
        if (!cursor_.next(m))
            return false;
        r = sender_;
        text.assign(m.begin(), m.end());
        return true;
    }

    /// Messages not handed out yet.
    std::size_t left() const noexcept { return cursor_.left(); }

    void clear() noexcept { cursor_ = {}; }

private:
    std::vector<std::byte> value_;
    batch_cursor cursor_;
    crypto::received sender_;
};

} // namespace tlvcast::profile::secure::detail
