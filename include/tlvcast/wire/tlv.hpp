// SPDX-License-Identifier: BSL-1.0
// Zero-copy TLV reading over std::span<const std::byte>, and TLV writing into caller-owned buffers.
#pragma once

#include <tlvcast/error.hpp>
#include <tlvcast/wire/detail/endian.hpp>
#include <tlvcast/wire/types.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <span>
#include <system_error>
#include <vector>

namespace tlvcast::wire {

inline constexpr std::size_t tlv_header_size = 4;
inline constexpr std::size_t max_value_size = 0xffff;

/// One TLV: its raw type and a view of its value inside the reader's buffer.
struct tlv {
    std::uint16_t raw_type = 0;
    std::span<const std::byte> value;

    tlv_type type() const noexcept { return static_cast<tlv_type>(raw_type); }
    /// The table row, or nullptr for a type no profile defines.
    const type_info* info() const noexcept { return find_type(raw_type); }
    /// Header plus value.
    std::size_t wire_size() const noexcept { return tlv_header_size + value.size(); }
    /// The whole TLV, header included, as it lies in the buffer it was read from (only for a TLV
    /// that a reader returned).
    std::span<const std::byte> bytes() const noexcept { return {value.data() - tlv_header_size, wire_size()}; }
};

/// Iterates the TLVs laid end to end in a buffer. Never reads outside the span, never allocates,
/// never throws. Known types are checked against the type table; unknown types are returned as
/// they are (callers count and skip them). Not thread-safe; cheap to copy.
class tlv_reader {
public:
    explicit tlv_reader(std::span<const std::byte> data) noexcept : data_(data) {}

    /// Reads the next TLV into `out`. Returns false at the end of the buffer (ec cleared) or on an
    /// error (ec set: truncated_header, truncated_value, length_out_of_range); after an error the
    /// reader stays at the offending TLV.
    bool next(tlv& out, std::error_code& ec) noexcept
    {
        ec = {};
        const std::size_t left = data_.size() - pos_;
        if (left == 0)
            return false;
        if (left < tlv_header_size) {
            ec = errc::truncated_header;
            return false;
        }
        const std::byte* p = data_.data() + pos_;
        const std::uint16_t type = detail::load_u16(p);
        const std::uint16_t length = detail::load_u16(p + 2);
        if (length > left - tlv_header_size) {
            ec = errc::truncated_value;
            return false;
        }
        if (const auto* info = find_type(type); info && (length < info->min_length || length > info->max_length)) {
            ec = errc::length_out_of_range;
            return false;
        }
        out.raw_type = type;
        out.value = data_.subspan(pos_ + tlv_header_size, length);
        pos_ += tlv_header_size + length;
        return true;
    }

    bool done() const noexcept { return pos_ == data_.size(); }
    std::size_t offset() const noexcept { return pos_; }
    std::span<const std::byte> remaining() const noexcept { return data_.subspan(pos_); }

private:
    std::span<const std::byte> data_;
    std::size_t pos_ = 0;
};

/// Reads the outer TLV of a datagram; bytes after it are ignored, as the seed profile says.
/// An empty datagram is errc::truncated_header.
inline tlv read_outer(std::span<const std::byte> datagram, std::error_code& ec) noexcept
{
    tlv t;
    tlv_reader r(datagram);
    if (!r.next(t, ec) && !ec)
        ec = errc::truncated_header;
    return t;
}

/// Checks that a TLV's type is known and that `where` may carry it (errc::unknown_type,
/// errc::unexpected_type).
inline std::error_code check_origin(const tlv& t, origin where) noexcept
{
    const auto* info = t.info();
    if (!info)
        return errc::unknown_type;
    if (!allows(info->senders, where))
        return errc::unexpected_type;
    return {};
}

namespace detail {
// Shared by both writers: lays a header and value at `dst` (room already checked).
inline void put_tlv(std::byte* dst, std::uint16_t type, std::span<const std::byte> value) noexcept
{
    store_u16(dst, type);
    store_u16(dst + 2, static_cast<std::uint16_t>(value.size()));
    std::copy(value.begin(), value.end(), dst + tlv_header_size);
}
} // namespace detail

/// Writes TLVs one after another into a fixed, caller-provided buffer. Never allocates or throws.
/// begin()/end() write a TLV whose value is built in place (for nesting without copies).
class tlv_writer {
public:
    explicit tlv_writer(std::span<std::byte> out) noexcept : out_(out) {}

    /// Appends one TLV. Errors: value_too_large, buffer_too_small (nothing written).
    void put(std::uint16_t type, std::span<const std::byte> value, std::error_code& ec) noexcept
    {
        ec = {};
        if (value.size() > max_value_size) {
            ec = errc::value_too_large;
            return;
        }
        if (out_.size() - pos_ < tlv_header_size + value.size()) {
            ec = errc::buffer_too_small;
            return;
        }
        detail::put_tlv(out_.data() + pos_, type, value);
        pos_ += tlv_header_size + value.size();
    }
    void put(tlv_type type, std::span<const std::byte> value, std::error_code& ec) noexcept
    {
        put(static_cast<std::uint16_t>(type), value, ec);
    }

    /// Appends raw bytes (a value part being built between begin() and end()).
    void put_raw(std::span<const std::byte> bytes, std::error_code& ec) noexcept
    {
        ec = {};
        if (out_.size() - pos_ < bytes.size()) {
            ec = errc::buffer_too_small;
            return;
        }
        std::copy(bytes.begin(), bytes.end(), out_.data() + pos_);
        pos_ += bytes.size();
    }

    /// Returned by begin() when the header does not fit; end() refuses it (buffer_too_small).
    static constexpr std::size_t no_mark = static_cast<std::size_t>(-1);

    /// Starts a TLV whose value follows; returns a mark for end(). Error: buffer_too_small
    /// (returns no_mark, nothing written).
    std::size_t begin(std::uint16_t type, std::error_code& ec) noexcept
    {
        ec = {};
        if (out_.size() - pos_ < tlv_header_size) {
            ec = errc::buffer_too_small;
            return no_mark;
        }
        detail::store_u16(out_.data() + pos_, type);
        const std::size_t mark = pos_;
        pos_ += tlv_header_size;
        return mark;
    }
    std::size_t begin(tlv_type type, std::error_code& ec) noexcept
    {
        return begin(static_cast<std::uint16_t>(type), ec);
    }

    /// Closes the TLV begun at `mark`, filling in its length. Errors: value_too_large when the
    /// value exceeds 65,535 bytes; buffer_too_small for no_mark (a begin() that failed) or any mark
    /// that is not a header inside what was written, so a caller that ignored begin()'s error
    /// cannot overwrite an earlier TLV.
    void end(std::size_t mark, std::error_code& ec) noexcept
    {
        ec = {};
        if (mark > pos_ || pos_ - mark < tlv_header_size) {
            ec = errc::buffer_too_small;
            return;
        }
        const std::size_t length = pos_ - mark - tlv_header_size;
        if (length > max_value_size) {
            ec = errc::value_too_large;
            return;
        }
        detail::store_u16(out_.data() + mark + 2, static_cast<std::uint16_t>(length));
    }

    /// Bytes written so far.
    std::size_t size() const noexcept { return pos_; }
    /// Bytes still free in the buffer.
    std::size_t room() const noexcept { return out_.size() - pos_; }
    std::span<std::byte> written() const noexcept { return out_.first(pos_); }

private:
    std::span<std::byte> out_;
    std::size_t pos_ = 0;
};

/// Appends TLVs to a growable buffer (std::vector<std::byte>). Reuse one across datagrams: clear()
/// keeps its capacity, so steady-state writing does not allocate.
class tlv_appender {
public:
    explicit tlv_appender(std::vector<std::byte>& out) noexcept : out_(&out) {}

    /// Appends one TLV. Error: value_too_large (nothing appended). `value` must not view the
    /// buffer itself (growing it may move the bytes). May throw std::bad_alloc.
    void put(std::uint16_t type, std::span<const std::byte> value, std::error_code& ec)
    {
        ec = {};
        if (value.size() > max_value_size) {
            ec = errc::value_too_large;
            return;
        }
        const std::size_t at = out_->size();
        out_->resize(at + tlv_header_size + value.size());
        detail::put_tlv(out_->data() + at, type, value);
    }
    void put(tlv_type type, std::span<const std::byte> value, std::error_code& ec)
    {
        put(static_cast<std::uint16_t>(type), value, ec);
    }

    /// Appends raw bytes (a value part being built between begin() and end()).
    void put_raw(std::span<const std::byte> bytes)
    {
        // resize()+copy like put(): GCC 12 at -O3 reports a false -Warray-bounds on vector::insert here.
        const std::size_t at = out_->size();
        out_->resize(at + bytes.size());
        std::copy(bytes.begin(), bytes.end(), out_->data() + at);
    }

    /// Starts a TLV whose value follows (length filled in by end()); returns its mark.
    std::size_t begin(std::uint16_t type)
    {
        const std::size_t mark = out_->size();
        out_->resize(mark + tlv_header_size);
        detail::store_u16(out_->data() + mark, type);
        return mark;
    }
    std::size_t begin(tlv_type type) { return begin(static_cast<std::uint16_t>(type)); }

    /// Closes the TLV begun at `mark`. Errors: value_too_large when its value exceeds 65,535
    /// bytes; buffer_too_small for a mark that is not a header inside the buffer (misuse).
    void end(std::size_t mark, std::error_code& ec) noexcept
    {
        ec = {};
        if (mark > out_->size() || out_->size() - mark < tlv_header_size) {
            ec = errc::buffer_too_small;
            return;
        }
        const std::size_t length = out_->size() - mark - tlv_header_size;
        if (length > max_value_size) {
            ec = errc::value_too_large;
            return;
        }
        detail::store_u16(out_->data() + mark + 2, static_cast<std::uint16_t>(length));
    }

    std::vector<std::byte>& buffer() noexcept { return *out_; }

private:
    std::vector<std::byte>* out_;
};

/// Views a trivially-copyable contiguous range as bytes (strings, arrays).
template <class T>
std::span<const std::byte> as_bytes(const T& range) noexcept
{
    return std::as_bytes(std::span(range));
}

} // namespace tlvcast::wire
