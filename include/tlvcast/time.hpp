// SPDX-License-Identifier: BSL-1.0
// Time as an input: engines never read a clock; drivers pass steady_clock time (or a virtual clock's).
#pragma once

#include <chrono>

namespace tlvcast {

using clock = std::chrono::steady_clock;
using time_point = clock::time_point;
using duration = clock::duration;

/// "No timer wanted": later than any real time.
inline constexpr time_point no_timer = time_point::max();

} // namespace tlvcast
