// SPDX-License-Identifier: BSL-1.0
// A tiny JSON-lines writer for the example programs: one flat object per line, strings escaped.
#pragma once

#include "common/stdout_writer.hpp"

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <mutex>
#include <string>
#include <string_view>

namespace tlvcast::examples {

/// Appends `s` to `out` as a JSON string literal. Quotes, backslash and control characters are
/// escaped (\" \\ \n \t ..., others as \u00XX); valid UTF-8 passes through unchanged; every byte
/// that is not part of a valid UTF-8 sequence (stray continuation, overlong form, surrogate, beyond
/// U+10FFFF, truncated sequence) becomes U+FFFD, so text from the network always gives valid JSON.
inline void append_json_string(std::string& out, std::string_view s)
{
    static constexpr char hex[] = "0123456789abcdef";
    out += '"';
    const auto* p = reinterpret_cast<const unsigned char*>(s.data());
    const std::size_t n = s.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char c = p[i];
        if (c < 0x80) {
            switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\n': out += "\\n"; break;
            case '\r': out += "\\r"; break;
            case '\t': out += "\\t"; break;
            case '\b': out += "\\b"; break;
            case '\f': out += "\\f"; break;
            default:
                if (c < 0x20 || c == 0x7f) {
                    out += "\\u00";
                    out += hex[c >> 4];
                    out += hex[c & 0xf];
                } else {
                    out += static_cast<char>(c);
                }
            }
            ++i;
            continue;
        }
        // Multi-byte sequence: the well-formed ranges of Unicode 15, table 3-7.
        std::size_t len = 0;
        unsigned char lo = 0x80, hi = 0xbf;
        if (c >= 0xc2 && c <= 0xdf) {
            len = 2;
        } else if (c >= 0xe0 && c <= 0xef) {
            len = 3;
            if (c == 0xe0)
                lo = 0xa0; // no overlong forms
            else if (c == 0xed)
                hi = 0x9f; // no surrogates
        } else if (c >= 0xf0 && c <= 0xf4) {
            len = 4;
            if (c == 0xf0)
                lo = 0x90;
            else if (c == 0xf4)
                hi = 0x8f; // nothing beyond U+10FFFF
        }
        bool ok = len != 0 && i + len <= n && p[i + 1] >= lo && p[i + 1] <= hi;
        for (std::size_t k = 2; ok && k < len; ++k)
            ok = p[i + k] >= 0x80 && p[i + k] <= 0xbf;
        if (ok) {
            out.append(s.substr(i, len));
            i += len;
        } else {
            out += "\xef\xbf\xbd"; // U+FFFD for this one bad byte; resynchronise on the next
            ++i;
        }
    }
    out += '"';
}

/// The version of the programs' JSON event schema (docs/CLI.md): the "v" of every line.
inline constexpr std::uint64_t json_schema_version = 1;

/// `t` as RFC 3339 in UTC with microseconds: "2026-12-01T02:41:28.123456Z".
inline std::string rfc3339_utc(std::chrono::system_clock::time_point t)
{
    const auto us = std::chrono::floor<std::chrono::microseconds>(t).time_since_epoch().count();
    const auto secs = static_cast<std::time_t>(us / 1'000'000); // the clock is after 1970
    const auto frac = static_cast<long>(us % 1'000'000);
    std::tm tm{};
    ::gmtime_r(&secs, &tm);
    char buf[40];
    const std::size_t n = std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
    std::snprintf(buf + n, sizeof buf - n, ".%06ldZ", frac);
    return buf;
}

/// Builds one flat JSON object: json_object().str("event", "ready").num("bytes", 3).boolean("ok", true).text().
class json_object {
public:
    /// An event line of the schema: "v", "ts" (now) and "event" first, the event's fields after.
    static json_object event(std::string_view name)
    {
        json_object o;
        o.num("v", json_schema_version).str("ts", rfc3339_utc(std::chrono::system_clock::now())).str("event", name);
        return o;
    }

    json_object& str(std::string_view key, std::string_view value)
    {
        this->key(key);
        append_json_string(s_, value);
        return *this;
    }
    json_object& num(std::string_view key, std::uint64_t value)
    {
        this->key(key);
        s_ += std::to_string(value);
        return *this;
    }
    json_object& boolean(std::string_view key, bool value)
    {
        this->key(key);
        s_ += value ? "true" : "false";
        return *this;
    }
    /// The object, closed, without a newline.
    std::string text() const { return s_.empty() ? "{}" : s_ + '}'; }

private:
    void key(std::string_view k)
    {
        s_ += s_.empty() ? '{' : ',';
        append_json_string(s_, k);
        s_ += ':';
    }
    std::string s_;
};

/// Writes one line to stdout and flushes it, so that a reader sees each event at once; through
/// the stdout_writer's thread while one exists. Thread-safe: lines from several threads never
/// interleave.
inline void print_line(std::string_view line)
{
    if (auto* w = stdout_writer::active()) {
        w->push(line);
        return;
    }
    static std::mutex mu;
    const std::lock_guard lock(mu);
    std::fwrite(line.data(), 1, line.size(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

} // namespace tlvcast::examples
