// SPDX-License-Identifier: BSL-1.0
// libFuzzer harness: arbitrary bytes as a NATS message through federation::read_envelope and the
// envelope MAC check (what a federated relay parses of anyone who can publish on its subject).
//
// Beyond "no crash, no sanitizer report": an envelope that parses re-encodes to exactly the input
// bytes, its blob is a view into them, every refusal matches an independent model of the format, and
// the tag verifies exactly when it is the one the key computes over the rest.
#include <tlvcast/federation/auth.hpp>
#include <tlvcast/federation/envelope.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <system_error>
#include <vector>

namespace {

namespace fed = tlvcast::federation;
using tlvcast::errc;

void expect(bool ok, const char* what)
{
    if (!ok) {
        std::fprintf(stderr, "fuzz_federation_envelope: invariant broken: %s\n", what);
        std::abort();
    }
}

// The format, written from docs/FEDERATION.md's table rather than from the parser.
errc model(std::span<const std::byte> in, std::size_t max_blob)
{
    // magic 2, version 3, kind 1, relay 16, counter 8, after 8, origin 32 | blob | tag 32.
    if (in.size() < 100)
        return errc::truncated_header;
    if (in[0] != std::byte{'T'} || in[1] != std::byte{'F'} || in.size() == 100)
        return errc::malformed;
    const auto kind = std::to_integer<unsigned>(in[3]);
    // 1 member blob, 2 presence, 3 ordered commit, 4 presence request, 5 presence answer.
    if (std::to_integer<unsigned>(in[2]) != 3 || kind < 1 || kind > 5)
        return errc::unexpected_type;
    const bool after_set = std::any_of(in.begin() + 28, in.begin() + 36, [](std::byte b) { return b != std::byte{0}; });
    if (after_set && kind != 3) // only a commit for the order says where it goes
        return errc::malformed;
    if (in.size() - 100 > max_blob)
        return errc::message_too_large;
    return errc{};
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    const std::span<const std::byte> in(reinterpret_cast<const std::byte*>(data), size);
    // A small limit too, so that the size check is reached by short inputs.
    for (const std::size_t max_blob : {fed::default_max_blob, std::size_t{64}}) {
        std::error_code ec;
        const fed::envelope_view v = fed::read_envelope(in, ec, max_blob);
        const errc want = model(in, max_blob);
        expect(ec ? ec == want : want == errc{}, "the error differs from the model");
        if (ec)
            continue;
        expect(fed::ordered_after(in) == (v.kind == fed::envelope_kind::ordered ? std::optional(v.after) : std::nullopt),
               "ordered_after disagrees with the parser");
        expect(v.blob.data() == in.data() + fed::envelope_header && v.blob.size() == in.size() - fed::envelope_overhead,
               "the blob is not a view of the input between header and tag");
        std::vector<std::byte> out;
        fed::write_envelope(v.kind, v.relay, v.counter, v.after, v.origin, v.blob, out, ec, max_blob);
        expect(!ec && out.size() == in.size() &&
                   std::equal(out.begin(), out.end() - fed::envelope_tag, in.begin(), in.end() - fed::envelope_tag),
               "no exact round trip");
        static const fed::envelope_auth<> auth{fed::federation_key{}};
        auth.seal(out);
        const bool same_tag = std::equal(out.end() - fed::envelope_tag, out.end(), in.end() - fed::envelope_tag);
        expect(auth.verify(v) == same_tag, "the tag check disagrees with the recomputed tag");
    }
    return 0;
}
