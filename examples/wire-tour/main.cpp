// SPDX-License-Identifier: BSL-1.0
// wire-tour: builds the seed profile's datagrams with tlvcast's wire layer, prints them, and rejects a bad one.
//
// What a seed client sends for one message (FRAGMENTs carrying a blob of ENCRYPTED_BLOCK TLVs), what
// the relay sends back (a SENDER_INFO wrapping a RELAYED_MESSAGE, a CLIENT_CONNECTED), each as hex with
// a decoded breakdown, and malformed datagrams rejected with their error messages. No network, no keys:
// random bytes stand in for the RSA-OAEP ciphertexts, so the output differs between runs.
#include <tlvcast/datagram.hpp>
#include <tlvcast/endpoint.hpp>
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstdio>
#include <cstdint>
#include <cstdlib>
#include <random>
#include <span>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace {

namespace wire = tlvcast::wire;
using tlvcast::endpoint;

// The seed profile's sizes (docs/PROTOCOL.md, "Seed profile", "A message").
constexpr std::size_t rsa_block = 256;      // RSA-2048 ciphertext
constexpr std::size_t max_chunk = 190;      // largest RSA-OAEP(SHA-256) plaintext for 2048 bits
constexpr std::size_t fragment_size = 256;  // FRAGMENT_SIZE
constexpr endpoint group{0xe0010101, 5007}; // 224.1.1.1:5007

constexpr std::string_view usage = R"(usage: wire-tour [--text TEXT] [--full] [--help]

A tour of tlvcast's wire layer (the seed profile, docs/PROTOCOL.md). It builds, prints as hex and
decodes the datagrams of one exchange, with no network and no keys:
  1. a client's message: FRAGMENT datagrams carrying a blob of ENCRYPTED_BLOCK TLVs, then the
     relay's side of it (reassembly and parsing of the blob);
  2. the relay's forward of it: a SENDER_INFO wrapping a RELAYED_MESSAGE;
  3. a CLIENT_CONNECTED notice;
  4. malformed datagrams, rejected with their error messages.
Random bytes stand in for the RSA-OAEP ciphertexts (the crypto layer makes real ones).

options:
  --text TEXT   the message to send (default "hello, group"); longer texts need more blocks
  --full        print every byte (by default long values are elided in the middle)
  --help        this text
)";

bool full_dump = false;

// Stand-in ciphertext and message ids: a real client uses its cipher policy and a CSPRNG.
std::vector<std::byte> random_bytes(std::random_device& rd, std::size_t n)
{
    std::vector<std::byte> v(n);
    for (auto& b : v)
        b = static_cast<std::byte>(rd() & 0xffu);
    return v;
}

void hex_line(std::span<const std::byte> all, std::size_t from)
{
    std::printf("    %04zx ", from);
    const std::size_t to = std::min(all.size(), from + 16);
    for (std::size_t i = from; i < to; ++i)
        std::printf(" %02x", std::to_integer<unsigned>(all[i]));
    std::printf("\n");
}

// 16 bytes a line; long datagrams show their first 48 and last 16 bytes unless --full.
void hex_dump(std::span<const std::byte> bytes)
{
    if (full_dump || bytes.size() <= 96) {
        for (std::size_t i = 0; i < bytes.size(); i += 16)
            hex_line(bytes, i);
        return;
    }
    for (std::size_t i = 0; i < 48; i += 16)
        hex_line(bytes, i);
    const std::size_t last = (bytes.size() - 1) / 16 * 16;
    std::printf("          ... %zu bytes not shown (--full shows them) ...\n", last - 48);
    hex_line(bytes, last);
}

std::string senders(wire::origin o)
{
    std::string s;
    for (auto [bit, name] : {std::pair{wire::origin::client, "client"}, std::pair{wire::origin::relay, "relay"},
                             std::pair{wire::origin::nested, "nested"}})
        if (wire::allows(o, bit))
            s += s.empty() ? name : std::string(" | ") + name;
    return s;
}

// The header line every breakdown starts with: type by name from the table, length, who may send it.
void describe_header(const wire::tlv& t, int indent)
{
    const auto* info = t.info();
    std::printf("%*stype %u %s, length %zu", indent, "", t.raw_type, std::string(wire::type_name(t.raw_type)).c_str(),
                t.value.size());
    if (info)
        std::printf(" (table: %u..%u bytes; allowed: %s)", info->min_length, info->max_length,
                    senders(info->senders).c_str());
    std::printf("\n");
}

void show(std::string_view title, const endpoint& to, std::span<const std::byte> datagram)
{
    std::printf("\n%s -> %s, %zu bytes:\n", std::string(title).c_str(), to.to_string().c_str(), datagram.size());
    hex_dump(datagram);
}

// Fails the tour loudly: each step uses only inputs the tour built itself, so an error is a bug.
void must(const std::error_code& ec, const char* what)
{
    if (ec) {
        std::fprintf(stderr, "wire-tour: %s: %s\n", what, ec.message().c_str());
        std::exit(1);
    }
}

// 1. A client's message: chunks -> stand-in ciphertexts -> ENCRYPTED_BLOCK blob -> FRAGMENTs.
std::vector<std::byte> client_message(std::random_device& rd, std::string_view text, tlvcast::datagram_batch& out)
{
    std::printf("== 1. A client sends \"%s\" (%zu bytes of UTF-8)\n", std::string(text).c_str(), text.size());
    const std::size_t chunks = text.empty() ? 1 : (text.size() + max_chunk - 1) / max_chunk;
    std::printf("   %zu chunk(s) of at most %zu bytes, each encrypted to the relay's key.\n", chunks, max_chunk);
    std::printf("   NOTE: the %zu-byte ciphertexts below are RANDOM BYTES standing in for RSA-OAEP output.\n",
                rsa_block);

    std::vector<std::byte> blob;
    wire::tlv_appender blob_writer(blob);
    std::error_code ec;
    for (std::size_t i = 0; i < chunks; ++i) {
        blob_writer.put(wire::tlv_type::encrypted_block, random_bytes(rd, rsa_block), ec);
        must(ec, "ENCRYPTED_BLOCK");
    }
    const auto id_bytes = random_bytes(rd, 4);
    const std::uint32_t msg_id = (std::to_integer<std::uint32_t>(id_bytes[0]) << 24) |
                                 (std::to_integer<std::uint32_t>(id_bytes[1]) << 16) |
                                 (std::to_integer<std::uint32_t>(id_bytes[2]) << 8) |
                                 std::to_integer<std::uint32_t>(id_bytes[3]);
    const auto total = static_cast<std::uint16_t>((blob.size() + fragment_size - 1) / fragment_size);
    std::printf("   blob: %zu ENCRYPTED_BLOCK TLV(s) = %zu bytes; msg_id 0x%08x; %u fragment(s) of <= %zu bytes.\n",
                chunks, blob.size(), msg_id, total, fragment_size);

    // Each FRAGMENT is built in place in the batch's buffer, the way the engines build datagrams.
    wire::tlv_appender dgram_writer(out.bytes());
    for (std::uint16_t seq = 0; seq < total; ++seq) {
        const auto payload = std::span(blob).subspan(seq * fragment_size).first(
            std::min(fragment_size, blob.size() - seq * fragment_size));
        const std::size_t mark = out.mark();
        wire::append_fragment(dgram_writer, msg_id, seq, total, payload, ec);
        must(ec, "FRAGMENT");
        out.commit(group, mark);
    }

    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto [to, datagram] = out[i];
        show("FRAGMENT datagram " + std::to_string(i + 1) + "/" + std::to_string(out.size()), to, datagram);
        const wire::tlv t = wire::read_outer(datagram, ec);
        must(ec, "read FRAGMENT");
        describe_header(t, 4);
        const wire::fragment f = wire::decode_fragment(t.value, ec);
        must(ec, "decode FRAGMENT");
        std::printf("      msg_id 0x%08x, seq %u, total %u, payload %zu bytes (a slice of the blob)\n", f.msg_id, f.seq,
                    f.total, f.payload.size());
    }
    return blob;
}

// The relay's side: read each datagram, check who may send it, reassemble, parse the blob.
void relay_reassembles(const tlvcast::datagram_batch& in, const std::vector<std::byte>& sent_blob)
{
    std::printf("\n   The relay reads them back: check the origin, concatenate the payloads in seq order, parse "
                "the blob.\n");
    std::vector<std::byte> blob;
    std::error_code ec;
    for (std::size_t i = 0; i < in.size(); ++i) {
        const wire::tlv t = wire::read_outer(in[i].bytes, ec);
        must(ec, "read FRAGMENT");
        must(wire::check_origin(t, wire::origin::client), "FRAGMENT from a client");
        const wire::fragment f = wire::decode_fragment(t.value, ec);
        must(ec, "decode FRAGMENT");
        blob.insert(blob.end(), f.payload.begin(), f.payload.end());
    }
    wire::tlv_reader r(blob);
    wire::tlv block;
    std::size_t n = 0;
    while (r.next(block, ec)) {
        must(wire::check_origin(block, wire::origin::nested), "ENCRYPTED_BLOCK nested in a blob");
        std::printf("      blob TLV %zu at offset %zu: ", ++n, r.offset() - block.wire_size());
        describe_header(block, 0);
    }
    must(ec, "parse blob");
    std::printf("      reassembled blob %s the one sent (%zu bytes); each block would now be decrypted.\n",
                blob == sent_blob ? "equals" : "DIFFERS FROM", blob.size());
}

// 2. The relay forwards the (re-encrypted) message to another client.
void relay_forward(std::random_device& rd)
{
    const endpoint sender{0xc0a80107, 40001};    // 192.168.1.7:40001, the client that sent it
    const endpoint recipient{0xc0a80108, 40002}; // 192.168.1.8:40002
    std::printf("\n== 2. The relay forwards it to %s: SENDER_INFO{%s, RELAYED_MESSAGE{one block}}\n",
                recipient.to_string().c_str(), sender.to_string().c_str());
    std::printf("   NOTE: the RELAYED_MESSAGE block is RANDOM BYTES standing in for RSA-OAEP output.\n");
    std::vector<std::byte> dgram;
    wire::tlv_appender a(dgram);
    std::error_code ec;
    wire::append_sender_info(a, sender, wire::tlv_type::relayed_message, random_bytes(rd, rsa_block), ec);
    must(ec, "SENDER_INFO");
    show("SENDER_INFO datagram", recipient, dgram);

    const wire::tlv outer = wire::read_outer(dgram, ec);
    must(ec, "read SENDER_INFO");
    describe_header(outer, 4);
    const wire::sender_info si = wire::decode_sender_info(outer.value, ec);
    must(ec, "decode SENDER_INFO");
    std::printf("      from %s, inner TLV: ", si.sender.to_string().c_str());
    describe_header(si.inner, 0);
    std::printf("        %zu block(s) of %zu bytes for the recipient to decrypt\n", si.inner.value.size() / rsa_block,
                rsa_block);
}

// 3. The relay announces a newcomer.
void presence()
{
    const endpoint newcomer{0xc0a80109, 40003}; // 192.168.1.9:40003
    const endpoint recipient{0xc0a80107, 40001};
    std::printf("\n== 3. The relay tells %s that %s connected\n", recipient.to_string().c_str(),
                newcomer.to_string().c_str());
    std::vector<std::byte> dgram;
    wire::tlv_appender a(dgram);
    std::error_code ec;
    wire::append_presence(a, wire::tlv_type::client_connected, newcomer, ec);
    must(ec, "CLIENT_CONNECTED");
    show("CLIENT_CONNECTED datagram", recipient, dgram);
    const wire::tlv t = wire::read_outer(dgram, ec);
    must(ec, "read CLIENT_CONNECTED");
    describe_header(t, 4);
    const endpoint ep = wire::decode_presence(t.value, ec);
    must(ec, "decode CLIENT_CONNECTED");
    std::printf("      peer %s\n", ep.to_string().c_str());
}

std::vector<std::byte> hex(std::initializer_list<unsigned> list)
{
    std::vector<std::byte> v;
    for (unsigned b : list)
        v.push_back(static_cast<std::byte>(b));
    return v;
}

// 4. Malformed input is ordinary traffic: an error code, never an exception or a crash.
int malformed()
{
    std::printf("\n== 4. Malformed datagrams are rejected with an error code\n");
    struct bad {
        const char* what;
        std::vector<std::byte> bytes;
    };
    const bad cases[] = {
        {"a FRAGMENT cut short (length says 10, 4 bytes follow)", hex({0x00, 0x01, 0x00, 0x0a, 0xde, 0xad, 0xbe, 0xef})},
        {"a KEEPALIVE that carries a value", hex({0x00, 0x09, 0x00, 0x01, 0xff})},
        {"a FRAGMENT with seq 3 of total 3",
         hex({0x00, 0x01, 0x00, 0x08, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x03, 0x00, 0x03})},
    };
    int rejected = 0;
    for (const auto& c : cases) {
        std::printf("\n   %s:\n", c.what);
        hex_dump(c.bytes);
        std::error_code ec;
        const wire::tlv t = wire::read_outer(c.bytes, ec);
        if (!ec && t.type() == wire::tlv_type::fragment)
            wire::decode_fragment(t.value, ec);
        if (ec) {
            std::printf("      rejected: %s (%s:%d)\n", ec.message().c_str(), ec.category().name(), ec.value());
            ++rejected;
        } else {
            std::printf("      ACCEPTED (unexpected)\n");
        }
    }
    return rejected == static_cast<int>(std::size(cases)) ? 0 : 1;
}

} // namespace

int main(int argc, char** argv)
{
    std::string text = "hello, group";
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        if (arg == "--help" || arg == "-h") {
            std::fputs(usage.data(), stdout);
            return 0;
        }
        if (arg == "--full") {
            full_dump = true;
        } else if (arg == "--text" && i + 1 < argc) {
            text = argv[++i];
        } else {
            std::fprintf(stderr, "wire-tour: unknown or incomplete option '%s'\n\n%s", argv[i], usage.data());
            return 2;
        }
    }
    // The seed profile's limit: 255 blocks of 190 bytes in one RELAYED_MESSAGE.
    if (text.size() > 255 * max_chunk) {
        std::fprintf(stderr, "wire-tour: --text longer than the seed profile carries (%zu bytes)\n", 255 * max_chunk);
        return 2;
    }

    std::random_device rd;
    tlvcast::datagram_batch fragments;
    const auto blob = client_message(rd, text, fragments);
    relay_reassembles(fragments, blob);
    relay_forward(rd);
    presence();
    const int rc = malformed();
    std::printf("\nwire-tour: done.\n");
    return rc;
}
