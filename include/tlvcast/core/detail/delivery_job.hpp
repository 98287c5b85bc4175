// SPDX-License-Identifier: BSL-1.0
// delivery_job: one relayed message's expensive work (open, then seal for every recipient), run
// through a pure function of the Cipher on any thread.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/error.hpp>

#include <cstddef>
#include <memory>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::core::detail {

/// Everything run() needs is in the job: the sender's blob and session, and the recipients with
/// their sessions as they were when the message completed. run() touches nothing else, so a worker
/// runs it while the engine goes on; the engine then takes the results back (complete()).
/// Buffers are reused from job to job.
/// seal_relayed() of a data message, seal_relayed_part() of a part, seal_relayed_batch() of a
/// batch (a Cipher without them opens neither: unexpected_type).
template <class Cipher, class Session>
void seal_relayed(const Cipher& cipher, crypto::message_kind kind, const Session& to, const Session& sender,
                  const endpoint& from, std::span<const std::byte> plaintext, std::vector<std::byte>& blob,
                  std::error_code& ec)
{
    if (kind == crypto::message_kind::part) {
        if constexpr (requires { cipher.seal_relayed_part(to, sender, from, plaintext, blob, ec); })
            return cipher.seal_relayed_part(to, sender, from, plaintext, blob, ec);
        ec = errc::unexpected_type;
        return;
    }
    if (kind == crypto::message_kind::batch) {
        if constexpr (requires { cipher.seal_relayed_batch(to, sender, from, plaintext, blob, ec); })
            return cipher.seal_relayed_batch(to, sender, from, plaintext, blob, ec);
        ec = errc::unexpected_type;
        return;
    }
    cipher.seal_relayed(to, sender, from, plaintext, blob, ec);
}

/// The sizes of the messages a blob of `kind` carried, into `sizes`: each of a batch's (the Cipher
/// reads them: batch_sizes(), thread-safe), else the one plaintext's. The relay counts and reports
/// messages, whatever shares a blob.
template <class Cipher>
void message_sizes(const Cipher& cipher, crypto::message_kind kind, std::span<const std::byte> plaintext,
                   std::vector<std::size_t>& sizes)
{
    sizes.clear();
    if constexpr (requires { cipher.batch_sizes(plaintext, sizes); }) {
        if (kind == crypto::message_kind::batch) {
            cipher.batch_sizes(plaintext, sizes);
            if (!sizes.empty())
                return;
        }
    }
    sizes.push_back(plaintext.size());
}

template <class Cipher>
struct delivery_job {
    using session_type = typename Cipher::peer_session;
    struct recipient {
        endpoint to;
        std::shared_ptr<session_type> session;
    };

    // Inputs.
    endpoint from;
    std::shared_ptr<session_type> sender;
    std::vector<std::byte> blob;
    std::vector<recipient> recipients;
    // Results.
    std::error_code open_error;
    crypto::message_kind kind = crypto::message_kind::data;
    std::size_t plaintext_size = 0;
    std::vector<std::size_t> sizes;             ///< the messages' sizes (message_sizes())
    std::vector<std::vector<std::byte>> sealed; ///< per recipient (data messages and parts only)
    std::vector<char> failed;                   ///< per recipient: seal_relayed failed

    /// Opens the blob and, for a data message or a part, seals it for every recipient.
    /// Thread-safe for distinct jobs (the Cipher's open and seal_relayed are).
    void run(const Cipher& cipher)
    {
        open_error = {};
        kind = cipher.open(*sender, blob, plaintext_, open_error);
        plaintext_size = plaintext_.size();
        if (open_error)
            return;
        message_sizes(cipher, kind, plaintext_, sizes);
        if (!crypto::forwarded_as_data(kind))
            return;
        if (sealed.size() < recipients.size())
            sealed.resize(recipients.size());
        failed.assign(recipients.size(), 0);
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            std::error_code ec;
            seal_relayed(cipher, kind, *recipients[i].session, *sender, from, plaintext_, sealed[i], ec);
            failed[i] = ec ? 1 : 0;
        }
    }

private:
    std::vector<std::byte> plaintext_;
};

} // namespace tlvcast::core::detail
