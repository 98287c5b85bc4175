// SPDX-License-Identifier: BSL-1.0
// Small, strict command-line parsing shared by the example programs (options parsed by hand).
#pragma once

#include <tlvcast/time.hpp>

#include <asio/ip/address.hpp>

#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <system_error>

namespace tlvcast::examples {

/// A bad command line: the message goes to stderr and the program exits with status 2.
struct usage_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

/// Walks argv: `--name value` and `--name=value` forms. Not thread-safe (use it from main).
class arg_reader {
public:
    arg_reader(int argc, char** argv) : argc_(argc), argv_(argv) {}

    /// The next option name (e.g. "--port"); false at the end. A word that is not an option is a usage_error.
    bool next(std::string_view& name)
    {
        pending_.reset();
        if (i_ >= argc_)
            return false;
        std::string_view word = argv_[i_++];
        // The short forms: -h, -q and -v (--verbose) for every program.
        if (word == "-h")
            word = "--help";
        else if (word == "-q")
            word = "--quiet";
        else if (word == "-v")
            word = "--verbose";
        if (word.size() < 3 || word.substr(0, 2) != "--")
            throw usage_error("unexpected argument '" + std::string(word) + "'");
        if (const auto eq = word.find('='); eq != std::string_view::npos) {
            pending_ = word.substr(eq + 1);
            word = word.substr(0, eq);
        }
        name_ = word;
        name = word;
        return true;
    }

    /// The value of the current option; usage_error when it is missing.
    std::string_view value()
    {
        if (pending_) {
            const std::string_view v = *pending_;
            pending_.reset();
            return v;
        }
        if (i_ >= argc_)
            throw usage_error("option " + std::string(name_) + " needs a value");
        return argv_[i_++];
    }

    /// For flags: a `--flag=value` form is an error.
    void no_value() const
    {
        if (pending_)
            throw usage_error("option " + std::string(name_) + " takes no value");
    }

    /// An unsigned integer in [lo, hi].
    std::uint64_t integer(std::uint64_t lo, std::uint64_t hi)
    {
        const std::string_view v = value();
        std::uint64_t x = 0;
        const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || x < lo || x > hi)
            throw usage_error("option " + std::string(name_) + ": '" + std::string(v) + "' is not an integer in " +
                              std::to_string(lo) + ".." + std::to_string(hi));
        return x;
    }

    /// A duration in seconds, decimals allowed ("0.5"), in [min_s, max_s].
    duration seconds(double min_s, double max_s)
    {
        const std::string_view v = value();
        double x = 0;
        const auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
        if (ec != std::errc{} || p != v.data() + v.size() || v.empty() || !std::isfinite(x) || x < min_s || x > max_s)
            throw usage_error("option " + std::string(name_) + ": '" + std::string(v) +
                              "' is not a number of seconds in " + trim(min_s) + ".." + trim(max_s));
        return std::chrono::duration_cast<duration>(std::chrono::duration<double>(x));
    }

    /// An IPv4 address ("224.1.1.1") or an IPv6 address ("ff15::1", "ff02::1%v0").
    asio::ip::address ip_address()
    {
        const std::string_view v = value();
        std::error_code ec;
        const auto a = asio::ip::make_address(std::string(v), ec);
        if (ec)
            throw usage_error("option " + std::string(name_) + ": '" + std::string(v) + "' is not an IP address");
        return a;
    }

    /// A non-empty string.
    std::string text()
    {
        const std::string_view v = value();
        if (v.empty())
            throw usage_error("option " + std::string(name_) + " needs a non-empty value");
        return std::string(v);
    }

    [[noreturn]] void unknown() const { throw usage_error("unknown option " + std::string(name_)); }

private:
    static std::string trim(double x)
    {
        std::string s = std::to_string(x);
        while (s.size() > 1 && s.back() == '0')
            s.pop_back();
        if (!s.empty() && s.back() == '.')
            s.pop_back();
        return s;
    }

    int argc_;
    char** argv_;
    int i_ = 1;
    std::string_view name_;
    std::optional<std::string_view> pending_;
};

/// Seconds as text with up to 3 decimals, for messages ("1.5 s").
inline std::string seconds_text(duration d)
{
    const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
    std::string s = std::to_string(ms / 1000);
    if (ms % 1000) {
        std::string frac = std::to_string(1000 + ms % 1000).substr(1);
        while (frac.back() == '0')
            frac.pop_back();
        s += '.' + frac;
    }
    return s + " s";
}

} // namespace tlvcast::examples
