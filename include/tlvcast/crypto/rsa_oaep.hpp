// rsa_oaep: the seed profile's Cipher policy (RSA-2048, OAEP-SHA256, 190-byte chunks), over an RSA backend.
#pragma once

#include <tlvcast/crypto/concepts.hpp>
#include <tlvcast/crypto/default_backend.hpp>
#include <tlvcast/crypto/detail/recent_ids.hpp>
#include <tlvcast/crypto/key_file.hpp>
#include <tlvcast/crypto/rsa_backend.hpp>
#include <tlvcast/datagram.hpp>
#include <tlvcast/error.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string_view>
#include <span>
#include <string>
#include <vector>

namespace tlvcast::crypto {

/// The seed profile's cryptography (seed-profile.md, "Cryptography", "Registration", "Relay
/// behaviour"): the client registers its PEM key (4) and asks for the relay's (7, answered by 5);
/// messages are RSA-OAEP blocks of at most modulus-66 bytes, each in a type-3 TLV, to the relay's
/// key; the relay re-encrypts for each recipient into SENDER_INFO(RELAYED_MESSAGE). The profile's
/// control messages are the texts "CONNECT" and "DISCONNECT", sealed like any message: they are
/// this policy's business alone. The seed profile proves no identity: a seed client accepts any
/// relay, as the prototype did. One instance holds this side's private key.
/// seal/open/seal_relayed/presence are const and thread-safe.
template <rsa_backend Rsa>
class basic_rsa_oaep {
public:
    static constexpr bool has_record_layer = false;
    static constexpr crypto::forwarding forwarding = crypto::forwarding::reseal;
    /// The seed profile's control texts.
    static constexpr std::string_view connect_text = "CONNECT";
    static constexpr std::string_view disconnect_text = "DISCONNECT";
    /// The frozen wire names peers by IPv4 address: a client engine refuses to start towards an
    /// IPv6 group (errc::address_family), and the relay side refuses IPv6 sources.
    static constexpr bool ipv4_only = true;
    using backend_type = Rsa;
    using private_key = typename Rsa::private_key;
    using public_key = typename Rsa::public_key;

    /// The client's view of its relay: the relay's key once type 5 arrived, and the first 16 bytes
    /// of recent relayed ciphertexts. OAEP is randomised, so the same bytes again can only be a
    /// network duplicate or a replay: dropped (errc::replayed) without a private-key operation.
    struct client_session {
        std::optional<public_key> relay_key;
        fingerprint relay_fingerprint{};
        detail::recent_ids seen;
    };
    /// The relay's view of one client: the key it registered.
    struct peer_session {
        public_key key;
        fingerprint key_fingerprint{};
    };

    /// Uses `key` as this side's key pair. Throws std::invalid_argument for a key the profile cannot use.
    explicit basic_rsa_oaep(private_key key)
        : key_(std::move(key)), public_(Rsa::public_of(key_)), pem_(Rsa::export_public_pem(public_)),
          modulus_(Rsa::modulus_bytes(public_))
    {
        if (modulus_ < wire::min_rsa_block || modulus_ > wire::max_rsa_block)
            throw std::invalid_argument("tlvcast::rsa_oaep: RSA key size must be 2048 to 4096 bits");
        std::error_code ec;
        const auto pem = wire::as_bytes(pem_);
        wire::tlv_appender a(hello_);
        a.put(wire::tlv_type::register_public_key, pem, ec);
        hello_split_ = hello_.size();
        a.put(wire::tlv_type::request_server_key, {}, ec);
        wire::tlv_appender(server_key_).put(wire::tlv_type::server_public_key, pem, ec);
    }

    /// A fresh key pair (the profile's default: a new key each run).
    static basic_rsa_oaep generate(unsigned bits = 2048) { return basic_rsa_oaep(Rsa::generate(bits)); }

    /// Loads the PEM private key at `path`, or creates it there (mode 0600) when absent.
    static basic_rsa_oaep load_or_create(const std::filesystem::path& path, unsigned bits = 2048)
    {
        return load_or_create(path, {}, nullptr, bits);
    }
    /// The same, reading the key as `options` say and reporting a too-open file in `status` (key_file.hpp).
    static basic_rsa_oaep load_or_create(const std::filesystem::path& path, const key_file_options& options,
                                         key_file_status* status, unsigned bits = 2048)
    {
        if (std::filesystem::exists(path))
            return basic_rsa_oaep(Rsa::load_private_pem(path, options, status));
        auto key = Rsa::generate(bits);
        Rsa::save_private_pem(key, path);
        return basic_rsa_oaep(std::move(key));
    }

    /// Largest plaintext per RSA block (190 for RSA-2048).
    std::size_t chunk_size() const noexcept { return modulus_ - 66; }
    std::size_t block_size() const noexcept { return modulus_; }
    const std::string& public_pem() const noexcept { return pem_; }
    fingerprint public_fingerprint() const { return Rsa::fingerprint(public_); }

    // ---- client side ----

    void start_session(client_session&, const endpoint& relay, time_point, datagram_batch& out) const
    {
        const std::span<const std::byte> hello(hello_);
        out.push(relay, hello.first(hello_split_));
        out.push(relay, hello.subspan(hello_split_));
    }

    bool established(const client_session& s) const noexcept { return s.relay_key.has_value(); }

    /// Handles SERVER_PUBLIC_KEY, SENDER_INFO, RELAYED_MESSAGE and the presence notices.
    received client_receive(client_session& s, const wire::tlv& t, time_point, const relay_trust& /*trust*/,
                            datagram_batch& /*out*/, std::vector<std::byte>& text, std::error_code& ec) const
    {
        ec = {};
        received r;
        switch (t.type()) {
        case wire::tlv_type::server_public_key: {
            public_key key = Rsa::import_public_pem(t.value, ec);
            if (ec)
                return r;
            const fingerprint fp = Rsa::fingerprint(key);
            r.what = received::kind::established;
            r.identity = fp;
            r.relay_changed = s.relay_key && fp != s.relay_fingerprint;
            s.relay_key = std::move(key);
            s.relay_fingerprint = fp;
            return r;
        }
        case wire::tlv_type::sender_info: {
            const wire::sender_info si = wire::decode_sender_info(t.value, ec);
            if (ec)
                return r;
            if (si.inner.type() != wire::tlv_type::relayed_message) {
                ec = errc::unexpected_type;
                return r;
            }
            if (decrypt_fresh(s, si.inner.value, text, ec)) {
                r.what = received::kind::message;
                r.peer = si.sender;
            }
            return r;
        }
        case wire::tlv_type::relayed_message:
            if (decrypt_fresh(s, t.value, text, ec))
                r.what = received::kind::message;
            return r;
        case wire::tlv_type::client_connected:
        case wire::tlv_type::client_disconnected:
            r.peer = wire::decode_presence(t.value, ec);
            if (!ec)
                r.what = t.type() == wire::tlv_type::client_connected ? received::kind::peer_connected
                                                                      : received::kind::peer_disconnected;
            return r;
        default: return r; // other relay types: ignored, as the profile says
        }
    }

    /// The message blob: one type-3 TLV per chunk, each encrypted to the relay's key; an empty
    /// message is one empty chunk. join and leave seal the control texts. Errors: not_ready before
    /// the relay's key is known; reserved_text for a data message equal to a control text.
    void seal(const client_session& s, message_kind kind, std::span<const std::byte> message,
              std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        if (!s.relay_key) {
            ec = errc::not_ready;
            return;
        }
        std::span<const std::byte> plaintext = message;
        switch (kind) {
        case message_kind::data:
            if (control_of(message)) {
                ec = errc::reserved_text;
                return;
            }
            break;
        case message_kind::join: plaintext = wire::as_bytes(connect_text); break;
        case message_kind::leave: plaintext = wire::as_bytes(disconnect_text); break;
        }
        wire::tlv_appender a(blob);
        const std::size_t chunk = chunk_size();
        std::size_t off = 0;
        do {
            const std::size_t n = std::min(chunk, plaintext.size() - off);
            const std::size_t mark = a.begin(wire::tlv_type::encrypted_block);
            blob.resize(blob.size() + modulus_);
            Rsa::encrypt(*s.relay_key, plaintext.subspan(off, n), std::span(blob).last(modulus_), ec);
            if (ec)
                return;
            a.end(mark, ec);
            off += n;
        } while (off < plaintext.size());
    }

    // ---- relay side ----

    /// REGISTER_PUBLIC_KEY registers `from`; REQUEST_SERVER_KEY is answered with SERVER_PUBLIC_KEY.
    /// Error: address_family when `from` is IPv6 (nothing registered or answered: the seed wire
    /// cannot name such a peer to the others).
    bool relay_handshake(const endpoint& from, const wire::tlv& t, time_point, datagram_batch& out,
                         const peer_session* /*current*/, std::optional<peer_session>& registered,
                         std::error_code& ec) const
    {
        ec = {};
        const bool handshake =
            t.type() == wire::tlv_type::register_public_key || t.type() == wire::tlv_type::request_server_key;
        if (handshake && !from.is_v4()) {
            ec = errc::address_family;
            return true;
        }
        if (t.type() == wire::tlv_type::register_public_key) {
            public_key key = Rsa::import_public_pem(t.value, ec);
            if (!ec) {
                const fingerprint fp = Rsa::fingerprint(key);
                registered.emplace(peer_session{std::move(key), fp});
            }
            return true;
        }
        if (t.type() == wire::tlv_type::request_server_key) {
            out.push(from, server_key_);
            return true;
        }
        return false;
    }

    /// Decrypts a reassembled blob of type-3 TLVs with this relay's key; the control texts are
    /// join and leave. Errors: malformed, decrypt_failed. Thread-safe.
    message_kind open(const peer_session&, std::span<const std::byte> blob, std::vector<std::byte>& plaintext,
                      std::error_code& ec) const
    {
        decrypt_blob(blob, plaintext, ec);
        if (ec)
            return message_kind::data;
        return control_of(plaintext).value_or(message_kind::data);
    }

    /// The blob SENDER_INFO(sender, RELAYED_MESSAGE(blocks to the recipient's key)), one TLV that
    /// travels as one datagram. Errors: message_too_large (over 255 blocks), address_family for an
    /// IPv6 sender. Thread-safe.
    void seal_relayed(const peer_session& p, const peer_session& /*sender_session*/, const endpoint& sender,
                      std::span<const std::byte> plaintext, std::vector<std::byte>& blob, std::error_code& ec) const
    {
        ec = {};
        blob.clear();
        const std::size_t chunk = chunk_size();
        const std::size_t blocks = plaintext.empty() ? 1 : (plaintext.size() + chunk - 1) / chunk;
        if (blocks * modulus_ > wire::max_value_size - wire::address_port_size - wire::tlv_header_size) {
            ec = errc::message_too_large;
            return;
        }
        std::byte addr[wire::address_port_size];
        wire::encode_address(addr, sender, ec);
        if (ec)
            return;
        wire::tlv_appender a(blob);
        const std::size_t outer = a.begin(wire::tlv_type::sender_info);
        a.put_raw(addr);
        const std::size_t inner = a.begin(wire::tlv_type::relayed_message);
        for (std::size_t b = 0; b < blocks; ++b) {
            const std::size_t off = b * chunk;
            const std::size_t n = std::min(chunk, plaintext.size() - off);
            blob.resize(blob.size() + modulus_);
            Rsa::encrypt(p.key, plaintext.subspan(off, n), std::span(blob).last(modulus_), ec);
            if (ec)
                return;
        }
        a.end(inner, ec);
        a.end(outer, ec);
    }

    /// The blob CLIENT_CONNECTED or CLIENT_DISCONNECTED about `about`. Error: address_family for an
    /// IPv6 `about` (the blob stays empty).
    void presence(const peer_session&, bool connected, const peer_session* /*about_session*/, const endpoint& about,
                  std::vector<std::byte>& blob, std::error_code& ec) const
    {
        blob.clear();
        wire::tlv_appender a(blob);
        wire::append_presence(a, connected ? wire::tlv_type::client_connected : wire::tlv_type::client_disconnected,
                              about, ec);
    }

    /// The seed profile proves no identity: peers are known by address only.
    std::optional<fingerprint> identity(const peer_session&) const noexcept { return std::nullopt; }

private:
    static std::optional<message_kind> control_of(std::span<const std::byte> text) noexcept
    {
        const std::string_view s(reinterpret_cast<const char*>(text.data()), text.size());
        if (s == connect_text)
            return message_kind::join;
        if (s == disconnect_text)
            return message_kind::leave;
        return std::nullopt;
    }

    void decrypt_blob(std::span<const std::byte> blob, std::vector<std::byte>& plaintext, std::error_code& ec) const
    {
        plaintext.clear();
        wire::tlv_reader r(blob);
        wire::tlv t;
        std::size_t blocks = 0;
        while (r.next(t, ec)) {
            if (t.type() != wire::tlv_type::encrypted_block || t.value.size() != modulus_) {
                ec = errc::malformed;
                return;
            }
            decrypt_one(t.value, plaintext, ec);
            if (ec)
                return;
            ++blocks;
        }
        if (!ec && blocks == 0)
            ec = errc::malformed;
    }

    // Decrypts one block, appending its plaintext.
    void decrypt_one(std::span<const std::byte> block, std::vector<std::byte>& plaintext, std::error_code& ec) const
    {
        const std::size_t at = plaintext.size();
        plaintext.resize(at + modulus_);
        const std::size_t n = Rsa::decrypt(key_, block, std::span(plaintext).subspan(at), ec);
        plaintext.resize(ec ? at : at + n);
    }

    // Decrypts a RELAYED_MESSAGE value unless its ciphertext was seen recently.
    bool decrypt_fresh(client_session& s, std::span<const std::byte> value, std::vector<std::byte>& text,
                       std::error_code& ec) const
    {
        const auto id = detail::recent_ids::make(value);
        if (s.seen.contains(id)) {
            ec = errc::replayed;
            return false;
        }
        decrypt_blocks(value, text, ec);
        if (ec)
            return false;
        s.seen.insert(id); // only after decryption: forged bytes cannot block a real message
        return true;
    }

    // A RELAYED_MESSAGE value: whole blocks only, at least one.
    void decrypt_blocks(std::span<const std::byte> value, std::vector<std::byte>& text, std::error_code& ec) const
    {
        text.clear();
        if (value.empty() || value.size() % modulus_ != 0) {
            ec = errc::malformed;
            return;
        }
        for (std::size_t off = 0; off < value.size() && !ec; off += modulus_)
            decrypt_one(value.subspan(off, modulus_), text, ec);
    }

    private_key key_;
    public_key public_;
    std::string pem_;
    std::size_t modulus_;
    std::vector<std::byte> hello_, server_key_; // prebuilt: 4 and 7, and 5
    std::size_t hello_split_ = 0;
};

/// The seed profile on the default backend (default_backend.hpp).
using rsa_oaep = basic_rsa_oaep<default_rsa>;

static_assert(client_cipher<rsa_oaep> && relay_cipher<rsa_oaep>);

} // namespace tlvcast::crypto
