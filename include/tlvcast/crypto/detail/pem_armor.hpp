// SPDX-License-Identifier: BSL-1.0
// PEM armor ("-----BEGIN label-----" ... "-----END label-----") located and checked without a throwing filter.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace tlvcast::crypto::detail {

inline constexpr std::string_view pem_label_public_key = "PUBLIC KEY";
inline constexpr std::string_view pem_label_private_key = "PRIVATE KEY";
inline constexpr std::string_view pem_label_rsa_private_key = "RSA PRIVATE KEY";

/// True for the characters RFC 7468's strict and lax parsers allow between the armor lines.
constexpr bool pem_body_char(char c) noexcept
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
           c == '/' || c == '=' || c == '\n' || c == '\r' || c == ' ' || c == '\t';
}

/// Finds the first block armored with exactly `label` in `text` and returns its base64 body
/// (whitespace included), or nothing when the armor is missing or the body holds a character that
/// is not base64 or whitespace (headers such as "Proc-Type:" of an encrypted key are refused here).
/// Text before the BEGIN line and after the END line is ignored, as OpenSSL does.
inline std::optional<std::string_view> find_pem_body(std::string_view text, std::string_view label)
{
    std::string begin{"-----BEGIN "};
    begin.append(label).append("-----");
    std::string end{"-----END "};
    end.append(label).append("-----");

    std::size_t pos = text.find(begin);
    // Like OpenSSL's reader, an armor line counts only at the start of a line.
    while (pos != std::string_view::npos && pos != 0 && text[pos - 1] != '\n')
        pos = text.find(begin, pos + 1);
    if (pos == std::string_view::npos)
        return std::nullopt;
    const std::size_t body_begin = pos + begin.size();
    const std::size_t body_end = text.find(end, body_begin);
    if (body_end == std::string_view::npos)
        return std::nullopt;
    const std::string_view body = text.substr(body_begin, body_end - body_begin);
    for (const char c : body) {
        if (!pem_body_char(c))
            return std::nullopt;
    }
    return body;
}

/// Armors base64 text that already ends in a newline: the layout every PEM writer uses.
inline std::string pem_wrap(std::string_view label, std::string_view base64_lines)
{
    std::string out;
    out.reserve(base64_lines.size() + 2 * label.size() + 32);
    out.append("-----BEGIN ").append(label).append("-----\n");
    out.append(base64_lines);
    out.append("-----END ").append(label).append("-----\n");
    return out;
}

} // namespace tlvcast::crypto::detail
