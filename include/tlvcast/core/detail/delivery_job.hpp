// SPDX-License-Identifier: BSL-1.0
// delivery_job: one relayed message's expensive work (open, then seal for every recipient), run
// through a pure function of the Cipher on any thread.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/endpoint.hpp>

#include <cstddef>
#include <memory>
#include <system_error>
#include <vector>

namespace tlvcast::core::detail {

/// Everything run() needs is in the job: the sender's blob and session, and the recipients with
/// their sessions as they were when the message completed. run() touches nothing else, so a worker
/// runs it while the engine goes on; the engine then takes the results back (complete()).
/// Buffers are reused from job to job.
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
    std::vector<std::vector<std::byte>> sealed; ///< per recipient (data messages only)
    std::vector<char> failed;                   ///< per recipient: seal_relayed failed

    /// Opens the blob and, for a data message, seals it for every recipient. Thread-safe for
    /// distinct jobs (the Cipher's open and seal_relayed are).
    void run(const Cipher& cipher)
    {
        open_error = {};
        kind = cipher.open(*sender, blob, plaintext_, open_error);
        plaintext_size = plaintext_.size();
        if (open_error || kind != crypto::message_kind::data)
            return;
        if (sealed.size() < recipients.size())
            sealed.resize(recipients.size());
        failed.assign(recipients.size(), 0);
        for (std::size_t i = 0; i < recipients.size(); ++i) {
            std::error_code ec;
            cipher.seal_relayed(*recipients[i].session, *sender, from, plaintext_, sealed[i], ec);
            failed[i] = ec ? 1 : 0;
        }
    }

private:
    std::vector<std::byte> plaintext_;
};

} // namespace tlvcast::core::detail
