// SPDX-License-Identifier: BSL-1.0
// Federation envelope authentication: an HMAC-SHA256 tag under a key the federation's relays share,
// and a per-relay counter so that a recorded envelope cannot be played again. docs/FEDERATION.md,
// "Authentication".
#pragma once

#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/detail/wipe.hpp>
#include <tlvcast/crypto/hex.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/federation/envelope.hpp>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <filesystem>
#include <map>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::federation {

/// The key every relay of a federation holds: 32 random bytes.
inline constexpr std::size_t federation_key_size = 32;
using federation_key = crypto::secret_bytes<federation_key_size>;

/// Reads a federation key file: exactly 32 raw bytes, or 64 hex digits (surrounding whitespace
/// ignored), not all zeros (the --federation-insecure key). Read as the project's other private-key
/// files are (crypto::read_private_key_file: a symbolic link, a non-regular or oversized file
/// refused; group- or world-accessible reported in `status`, refused under strict permissions).
/// Throws std::system_error (errc::bad_key for a wrong size, bad hex or the all-zero key). The key
/// never appears in an exception's text.
inline federation_key read_federation_key_file(const std::filesystem::path& path,
                                               const crypto::key_file_options& options = {},
                                               crypto::key_file_status* status = nullptr)
{
    const crypto::secret_buffer raw = crypto::read_private_key_file(path, options, status);
    std::array<std::byte, federation_key_size> bytes{};
    bool ok = false;
    if (raw.size() == federation_key_size) {
        std::transform(raw.begin(), raw.end(), bytes.begin(), [](char c) { return std::byte(std::uint8_t(c)); });
        ok = true;
    } else {
        std::size_t b = 0, e = raw.size();
        while (b < e && std::isspace(static_cast<unsigned char>(raw[b])))
            ++b;
        while (e > b && std::isspace(static_cast<unsigned char>(raw[e - 1])))
            --e;
        auto nibble = [](char c) -> int {
            if (c >= '0' && c <= '9')
                return c - '0';
            if (c >= 'a' && c <= 'f')
                return c - 'a' + 10;
            if (c >= 'A' && c <= 'F')
                return c - 'A' + 10;
            return -1;
        };
        if (e - b == 2 * federation_key_size) {
            ok = true;
            for (std::size_t i = 0; i < federation_key_size; ++i) {
                const int hi = nibble(raw[b + 2 * i]), lo = nibble(raw[b + 2 * i + 1]);
                if (hi < 0 || lo < 0)
                    ok = false;
                bytes[i] = std::byte(std::uint8_t((hi << 4) | (lo & 0xf)));
            }
        }
    }
    // All zeros is the key --federation-insecure seals under, known to everyone: refused here, so
    // that a relay given "a key" never silently runs as an insecure one.
    std::uint8_t any = 0;
    for (const std::byte b : bytes)
        any = std::uint8_t(any | std::to_integer<std::uint8_t>(b));
    federation_key key{std::span<const std::byte, federation_key_size>(bytes)};
    crypto::detail::secure_wipe(bytes.data(), bytes.size());
    if (!ok)
        throw std::system_error(make_error_code(errc::bad_key),
                                "federation key file '" + path.string() +
                                    "': expected 32 raw bytes or 64 hex digits");
    if (any == 0)
        throw std::system_error(make_error_code(errc::bad_key),
                                "federation key file '" + path.string() +
                                    "': the all-zero key is the well-known --federation-insecure one");
    return key;
}

/// Seals and checks envelopes under one federation key. A relay keeps one; not thread-safe (the
/// bridge uses it on the relay's strand only).
template <class Suite = crypto::default_suite>
class envelope_auth {
public:
    explicit envelope_auth(const federation_key& key) : key_(key) {}

    /// Writes the tag into the last envelope_tag bytes of `envelope` (write_envelope's output).
    void seal(std::vector<std::byte>& envelope) const
    {
        if (envelope.size() < envelope_overhead)
            return;
        const auto body = std::span<const std::byte>(envelope).first(envelope.size() - envelope_tag);
        const auto mac = Suite::hmac_sha256(key_.span(), body);
        std::copy_n(mac.begin(), envelope_tag, envelope.end() - envelope_tag);
    }

    /// True when `v`'s tag is the key's tag over its contents (compared in constant time).
    bool verify(const envelope_view& v) const
    {
        if (v.tag.size() != envelope_tag)
            return false;
        const auto mac = Suite::hmac_sha256(key_.span(), v.authenticated);
        return crypto::detail::constant_time_equal(mac.data(), v.tag.data(), envelope_tag);
    }

private:
    federation_key key_;
};

/// Refuses replays of authenticated envelopes: each relay id's counter must grow (NATS keeps one
/// publisher's order on a subject, so a strictly greater counter is what an honest relay sends; gaps
/// are lost envelopes and are fine). A relay that restarts draws a new id, so its counter restarts
/// with it. At most `max_relays` ids are remembered. Beyond them, a new id is refused (only key
/// holders can add ids: see docs/FEDERATION.md for what a malicious relay can do), or, with
/// `evict_oldest`, the id least recently accepted is forgotten to make room: the guard of the
/// order of commits, where every reader sees the same sequence and a copy of an old commit is
/// dropped anyway as stale (detail::order_guard), and a relay that catches up reads the whole
/// history, whose ids would otherwise fill it for good (tests/federation/review_catch_up.cpp).
class replay_guard {
public:
    static constexpr std::size_t default_max_relays = 1024;
    explicit replay_guard(std::size_t max_relays = default_max_relays, bool evict_oldest = false)
        : max_relays_(max_relays), evict_oldest_(evict_oldest)
    {
    }

    /// Records and admits (relay, counter) when the counter is above every one seen from relay.
    bool accept(const relay_id& relay, std::uint64_t counter)
    {
        const auto it = last_.find(relay);
        if (it == last_.end()) {
            if (last_.size() >= max_relays_) {
                if (!evict_oldest_ || last_.empty())
                    return false;
                last_.erase(std::min_element(last_.begin(), last_.end(), [](const auto& a, const auto& b) {
                    return a.second.used < b.second.used;
                }));
            }
            last_.emplace(relay, seen{counter, ++uses_});
            return true;
        }
        if (counter <= it->second.counter)
            return false;
        it->second = {counter, ++uses_};
        return true;
    }
    std::size_t relays() const noexcept { return last_.size(); }

private:
    struct seen {
        std::uint64_t counter = 0;
        std::uint64_t used = 0; // when it was last accepted (uses_)
    };
    std::size_t max_relays_;
    bool evict_oldest_;
    std::uint64_t uses_ = 0;
    std::map<relay_id, seen> last_;
};

} // namespace tlvcast::federation
