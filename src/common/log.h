// Operator-facing log lines on stderr, prefixed "xcap: ". Not for the packet path.
#pragma once

#include <cstdarg>
#include <cstdio>

namespace xcap {

enum class LogLevel { Quiet = 0, Info = 1, Debug = 2 };

LogLevel log_level();
void set_log_level(LogLevel level);

[[gnu::format(printf, 1, 2)]] void log_info(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void log_debug(const char* fmt, ...);
[[gnu::format(printf, 1, 2)]] void log_error(const char* fmt, ...);

}  // namespace xcap
