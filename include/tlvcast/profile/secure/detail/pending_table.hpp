// SPDX-License-Identifier: BSL-1.0
// The relay's pending handshakes (between SERVER_HELLO and CLIENT_AUTH): caps, eviction, expiry, duplicates.
#pragma once

#include <tlvcast/crypto/secret.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/profile/secure/key_schedule.hpp>
#include <tlvcast/time.hpp>
#include <tlvcast/wire/types.hpp>

#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <unordered_map>
#include <utility>

namespace tlvcast::profile::secure::detail {

/// One handshake between SECURE_SERVER_HELLO and SECURE_CLIENT_AUTH.
struct pending_handshake {
    endpoint from;
    time_point expires;
    std::uint64_t serial = 0;            ///< order of creation (the FIFO's entries name it)
    crypto::sha256_digest hello_hash{}; ///< SHA-256 of the SECURE_HELLO (without cookie)
    crypto::sha256_digest th{};
    std::array<std::byte, crypto::ed25519_signature_size> sig_r{};
    std::array<std::byte, wire::secure_server_hello_size> server_hello{}; ///< retransmitted for a duplicate
    unsigned resends = 0; ///< SERVER_HELLOs sent again for a repeated hello (options::max_flight_resends)
    time_point sent{};    ///< the first SERVER_HELLO (resends follow the client's schedule, not a burst)
    crypto::secret_bytes<key_block_size> okm;
};

/// The pending table, keyed by session id (as u64), with an index by (source, hello hash) for
/// duplicates, a count per IP address for the per-address cap, and a FIFO in creation (= expiry)
/// order. Removed entries' keys are wiped. Single-threaded (the relay engine's thread).
class pending_table {
public:
    std::size_t size() const noexcept { return entries_.size(); }
    bool contains(std::uint64_t key) const { return entries_.count(key) != 0; }

    /// The entry under session id `key`, or null.
    pending_handshake* find(std::uint64_t key)
    {
        const auto it = entries_.find(key);
        return it == entries_.end() ? nullptr : &it->second;
    }
    /// The entry that a hello (by its hash) from `from` created, or null: a duplicate.
    pending_handshake* duplicate(const endpoint& from, const crypto::sha256_digest& hello_hash)
    {
        const auto d = by_hello_.find(duplicate_key{from, hello_hash});
        return d == by_hello_.end() ? nullptr : &entries_.at(d->second);
    }

    /// Before an insert from `address` (an IP address without port): over a cap, the oldest entry
    /// goes (of this address first), so a full table never refuses.
    void make_room(const endpoint& address, std::size_t max_per_address, std::size_t max_total)
    {
        if (const auto a = per_address_.find(address); a != per_address_.end() && a->second >= max_per_address)
            evict_oldest(&address);
        if (entries_.size() >= max_total)
            evict_oldest(nullptr);
    }

    void insert(std::uint64_t key, pending_handshake&& ph)
    {
        ph.serial = next_serial_++;
        fifo_.push_back({key, ph.serial});
        by_hello_.emplace(duplicate_key{ph.from, ph.hello_hash}, key);
        ++per_address_[ph.from.without_port()];
        entries_.emplace(key, std::move(ph));
    }

    /// Removes the entry under `key` (its keys wiped); its FIFO record goes stale.
    void erase(std::uint64_t key)
    {
        if (const auto it = entries_.find(key); it != entries_.end())
            drop(it);
        trim_fifo();
    }

    /// When the oldest live entry expires, or no_timer.
    time_point next_expiry() const
    {
        for (const fifo_entry& f : fifo_) {
            const auto it = entries_.find(f.key);
            if (it != entries_.end() && it->second.serial == f.serial)
                return it->second.expires;
        }
        return no_timer;
    }

    // Drops expired entries (and completed ones' FIFO records) from the front of the FIFO, their
    // keys wiped. A clock that goes back expires nothing; entries are created in expiry order otherwise.
    void expire(time_point now)
    {
        while (!fifo_.empty()) {
            const auto it = live(fifo_.front());
            if (it != entries_.end()) {
                if (it->second.expires > now)
                    break;
                drop(it);
            }
            fifo_.pop_front();
        }
    }

private:
    using duplicate_key = std::pair<endpoint, crypto::sha256_digest>; // (source, hash of its hello)
    struct fifo_entry {
        std::uint64_t key;    // session id key into `entries_`
        std::uint64_t serial; // stale when the entry under `key` has another serial (or is gone)
    };
    using map_type = std::unordered_map<std::uint64_t, pending_handshake>;

    // Removes one entry and its indexes; its key material is wiped.
    void drop(typename map_type::iterator it)
    {
        pending_handshake& ph = it->second;
        ph.okm.wipe();
        by_hello_.erase(duplicate_key{ph.from, ph.hello_hash});
        const auto a = per_address_.find(ph.from.without_port());
        if (a != per_address_.end() && --a->second == 0)
            per_address_.erase(a);
        entries_.erase(it);
    }

    // Pops stale records off the FIFO's front, so that it starts with a live entry (or is empty):
    // next_expiry(), which the driver calls after every datagram, then stops at its first record.
    // Without it, an attacker who completes many handshakes behind one it holds open, then that
    // one, left next_timer() walking every stale record on each call until the next handshake TLV.
    void trim_fifo()
    {
        while (!fifo_.empty() && live(fifo_.front()) == entries_.end())
            fifo_.pop_front();
    }

    // The live entry a FIFO entry names, or end().
    typename map_type::iterator live(const fifo_entry& f)
    {
        const auto it = entries_.find(f.key);
        return it != entries_.end() && it->second.serial == f.serial ? it : entries_.end();
    }

    // Evicts the oldest entry of `address` (any port), or of the table when `address` is null.
    void evict_oldest(const endpoint* address)
    {
        for (auto f = fifo_.begin(); f != fifo_.end(); ++f) {
            const auto it = live(*f);
            if (it == entries_.end() || (address && it->second.from.without_port() != *address))
                continue;
            drop(it);
            fifo_.erase(f);
            trim_fifo();
            return;
        }
    }

    map_type entries_;
    std::map<duplicate_key, std::uint64_t> by_hello_;       // -> key into `entries_`
    std::unordered_map<endpoint, std::size_t> per_address_; // entries per IP address
    std::deque<fifo_entry> fifo_;                           // creation order = expiry order
    std::uint64_t next_serial_ = 0;
};

} // namespace tlvcast::profile::secure::detail
