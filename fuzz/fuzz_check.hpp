// SPDX-License-Identifier: BSL-1.0
// FUZZ_CHECK: the harnesses' invariant check, kept under -DNDEBUG (an assert would vanish there).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            std::fprintf(stderr, "invariant failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__);    \
            std::abort();                                                                         \
        }                                                                                         \
    } while (0)
