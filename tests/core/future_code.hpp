// SPDX-License-Identifier: BSL-1.0
// code_of: the error code of a use_future operation of signature void(error_code) (its future throws it).
#pragma once

#include <future>
#include <system_error>

namespace tlvcast::test {

inline std::error_code code_of(std::future<void> f)
{
    try {
        f.get();
    } catch (const std::system_error& e) {
        return e.code();
    }
    return {};
}

} // namespace tlvcast::test
