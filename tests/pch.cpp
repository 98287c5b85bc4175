// SPDX-License-Identifier: BSL-1.0
// Anchors tests/pch.hpp, which every test program reuses (tests/CMakeLists.txt).
