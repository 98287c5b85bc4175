// SPDX-License-Identifier: BSL-1.0
// tlvcast's version. Kept equal to project(VERSION) in CMakeLists.txt: configuring fails when they differ.
#pragma once

#define TLVCAST_VERSION_MAJOR 0
#define TLVCAST_VERSION_MINOR 1
#define TLVCAST_VERSION_PATCH 0

/// One number that orders versions: major * 10000 + minor * 100 + patch (0.1.0 is 100).
#define TLVCAST_VERSION (TLVCAST_VERSION_MAJOR * 10000 + TLVCAST_VERSION_MINOR * 100 + TLVCAST_VERSION_PATCH)
#define TLVCAST_VERSION_STRING "0.1.0"
