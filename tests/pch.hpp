// SPDX-License-Identifier: BSL-1.0
// The precompiled header of the test programs (tests/CMakeLists.txt): third-party headers only, so
// that a test file still compiles, more slowly, with TLVCAST_PCH=OFF. No crypto backend header: the
// backend-free test programs must stay free of them (scripts/test.sh checks their dependencies).
#pragma once

#include <catch2/catch.hpp>

#include <asio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <system_error>
#include <vector>
