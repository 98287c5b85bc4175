// SPDX-License-Identifier: BSL-1.0
// CPU time of the data-path benchmark's sides: the server's (from /proc), the load generator's own,
// and the whole machine's by kind, to tell a saturated side from a run disturbed by other work.
#pragma once

#include <array>
#include <fstream>
#include <iterator>
#include <sstream>
#include <string>

#include <sys/resource.h>
#include <unistd.h>

namespace tlvcast::bench {

// The server's CPU seconds (user + system, all threads) from /proc/PID/stat; 0 without a pid.
inline double server_cpu(int pid)
{
    if (pid == 0)
        return 0;
    std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
    std::string s((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    std::istringstream rest(s.substr(s.rfind(')') + 2)); // field 3 onwards; the name may hold spaces
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
        if (i == 14)
            utime = std::stoull(field);
        if (i == 15)
            stime = std::stoull(field);
    }
    return static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Machine-wide jiffies from /proc/stat's "cpu" line: {busy, softirq, steal, idle}. A closed loop
// whose two sides are both far from busy waits on something else (wake-ups, softirq, the host).
inline std::array<double, 4> machine_cpu()
{
    std::ifstream f("/proc/stat");
    std::string cpu;
    double v[8] = {};
    f >> cpu;
    for (double& x : v)
        f >> x;
    return {v[0] + v[1] + v[2] + v[5], v[6], v[7], v[3] + v[4]};
}

inline double own_cpu()
{
    rusage ru{};
    ::getrusage(RUSAGE_SELF, &ru);
    return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
           static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1e-6;
}

} // namespace tlvcast::bench
