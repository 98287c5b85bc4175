// SPDX-License-Identifier: BSL-1.0
// Wire-layer throughput: validating TLV parsing and writing, small datagrams, fragment-header codec.
#include <tlvcast/wire/fragment_header.hpp>
#include <tlvcast/wire/sender_info.hpp>
#include <tlvcast/wire/tlv.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <system_error>
#include <vector>

namespace {

namespace wire = tlvcast::wire;

constexpr std::size_t buffer_size = 64 * 1024;
constexpr std::size_t block_size = 256;                               // one RSA-2048 ciphertext
constexpr std::size_t block_tlv_size = wire::tlv_header_size + block_size; // 260
constexpr std::size_t blocks_per_buffer = buffer_size / block_tlv_size;   // 252

// Stops the benchmark loudly: a benchmark that measures a failing path would report nonsense.
void check(const std::error_code& ec)
{
    if (ec)
        std::abort();
}

std::vector<std::byte> block_value()
{
    std::vector<std::byte> v(block_size);
    for (std::size_t i = 0; i < v.size(); ++i)
        v[i] = static_cast<std::byte>(i * 37 + 11);
    return v;
}

// 252 ENCRYPTED_BLOCK TLVs back to back (65,520 of the 65,536 bytes), built once with the writer.
std::vector<std::byte> block_buffer()
{
    std::vector<std::byte> buf(blocks_per_buffer * block_tlv_size);
    const auto value = block_value();
    wire::tlv_writer w(buf);
    std::error_code ec;
    for (std::size_t i = 0; i < blocks_per_buffer; ++i) {
        w.put(wire::tlv_type::encrypted_block, value, ec);
        check(ec);
    }
    return buf;
}

// The validating parser over the 64 KiB buffer: every TLV is checked against the type table.
void bm_read_64k_blocks(benchmark::State& state)
{
    const auto buf = block_buffer();
    std::size_t tlvs = 0;
    for (auto _ : state) {
        wire::tlv_reader r(buf);
        wire::tlv t;
        std::error_code ec;
        std::size_t n = 0;
        while (r.next(t, ec)) {
            benchmark::DoNotOptimize(t.value.data());
            ++n;
        }
        check(ec);
        if (n != blocks_per_buffer)
            std::abort();
        tlvs += n;
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(tlvs));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * buf.size()));
}
BENCHMARK(bm_read_64k_blocks);

// The same buffer, additionally checking each TLV may appear nested (what the relay does to a blob).
void bm_read_64k_blocks_checked_origin(benchmark::State& state)
{
    const auto buf = block_buffer();
    std::size_t tlvs = 0;
    for (auto _ : state) {
        wire::tlv_reader r(buf);
        wire::tlv t;
        std::error_code ec;
        while (r.next(t, ec)) {
            auto oc = wire::check_origin(t, wire::origin::nested);
            benchmark::DoNotOptimize(oc);
            benchmark::DoNotOptimize(t.value.data());
            ++tlvs;
        }
        check(ec);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(tlvs));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * blocks_per_buffer * block_tlv_size));
}
BENCHMARK(bm_read_64k_blocks_checked_origin);

// Writing 252 blocks into a caller-provided 64 KiB buffer.
void bm_write_64k_blocks(benchmark::State& state)
{
    std::vector<std::byte> out(buffer_size);
    const auto value = block_value();
    for (auto _ : state) {
        wire::tlv_writer w(out);
        std::error_code ec;
        for (std::size_t i = 0; i < blocks_per_buffer; ++i)
            w.put(wire::tlv_type::encrypted_block, value, ec);
        check(ec);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * blocks_per_buffer));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * blocks_per_buffer * block_tlv_size));
}
BENCHMARK(bm_write_64k_blocks);

// Appending 252 blocks to a reused growable buffer (no allocation after the first iteration).
void bm_append_64k_blocks(benchmark::State& state)
{
    std::vector<std::byte> out;
    out.reserve(buffer_size);
    const auto value = block_value();
    for (auto _ : state) {
        out.clear();
        wire::tlv_appender a(out);
        std::error_code ec;
        for (std::size_t i = 0; i < blocks_per_buffer; ++i)
            a.put(wire::tlv_type::encrypted_block, value, ec);
        check(ec);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations() * blocks_per_buffer));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * blocks_per_buffer * block_tlv_size));
}
BENCHMARK(bm_append_64k_blocks);

// One KEEPALIVE datagram (00 09 00 00) through read_outer.
void bm_read_keepalive(benchmark::State& state)
{
    const std::array<std::byte, 4> dgram{std::byte{0x00}, std::byte{0x09}, std::byte{0x00}, std::byte{0x00}};
    for (auto _ : state) {
        std::error_code ec;
        auto t = wire::read_outer(dgram, ec);
        benchmark::DoNotOptimize(t);
        benchmark::DoNotOptimize(ec);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * dgram.size()));
}
BENCHMARK(bm_read_keepalive);

// A full 264-byte FRAGMENT datagram (8-byte header + 256-byte payload): read_outer + decode_fragment.
std::vector<std::byte> fragment_datagram()
{
    std::vector<std::byte> dgram;
    wire::tlv_appender a(dgram);
    std::error_code ec;
    const auto payload = block_value();
    wire::append_fragment(a, 0xdeadbeef, 1, 3, payload, ec);
    check(ec);
    return dgram;
}

void bm_read_fragment(benchmark::State& state)
{
    const auto dgram = fragment_datagram();
    if (dgram.size() != 4 + 264)
        std::abort();
    for (auto _ : state) {
        std::error_code ec;
        auto t = wire::read_outer(dgram, ec);
        auto f = wire::decode_fragment(t.value, ec);
        benchmark::DoNotOptimize(f);
        benchmark::DoNotOptimize(ec);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * dgram.size()));
}
BENCHMARK(bm_read_fragment);

void bm_write_fragment(benchmark::State& state)
{
    const auto payload = block_value();
    std::array<std::byte, 4 + 264> out{};
    for (auto _ : state) {
        wire::tlv_writer w(out);
        std::error_code ec;
        wire::write_fragment(w, 0xdeadbeef, 1, 3, payload, ec);
        benchmark::DoNotOptimize(ec);
        benchmark::DoNotOptimize(out.data());
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * out.size()));
}
BENCHMARK(bm_write_fragment);

// The 8-byte fragment header alone: decode and encode.
void bm_fragment_header_codec(benchmark::State& state)
{
    std::array<std::byte, wire::fragment_header_size> hdr{};
    std::error_code ec;
    wire::encode_fragment_header(hdr, 0xdeadbeef, 1, 3, ec);
    check(ec);
    std::uint16_t seq = 0;
    for (auto _ : state) {
        auto f = wire::decode_fragment(hdr, ec);
        benchmark::DoNotOptimize(f);
        // Vary the input so the round trip cannot be folded into a constant.
        seq = static_cast<std::uint16_t>((seq + 1) & 1);
        wire::encode_fragment_header(hdr, f.msg_id, seq, f.total, ec);
        benchmark::DoNotOptimize(ec);
        benchmark::ClobberMemory();
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * hdr.size()));
}
BENCHMARK(bm_fragment_header_codec);

// A SENDER_INFO wrapping a one-block RELAYED_MESSAGE, as a client receives it.
void bm_read_sender_info(benchmark::State& state)
{
    std::vector<std::byte> dgram;
    wire::tlv_appender a(dgram);
    std::error_code ec;
    wire::append_sender_info(a, {0xc0a80107, 5007}, wire::tlv_type::relayed_message, block_value(), ec);
    check(ec);
    for (auto _ : state) {
        auto t = wire::read_outer(dgram, ec);
        auto si = wire::decode_sender_info(t.value, ec);
        benchmark::DoNotOptimize(si);
        benchmark::DoNotOptimize(ec);
    }
    state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()));
    state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * dgram.size()));
}
BENCHMARK(bm_read_sender_info);

} // namespace
