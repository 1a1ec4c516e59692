// Times and durations as the reading commands take them (xcap archive ls/get --from, --to,
// --lookback): a time is RFC 3339 (2026-11-30T03:00:00Z, 2026-11-30T04:00:00.25+01:00; a bare
// date is its midnight UTC) or relative to now (-15m, -1h30m, -2d, now); a duration is a sum
// of <number><s|m|h|d> (90s, 1h30m). Everything is UTC nanoseconds since the epoch.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace xcap::archive {

Result<uint64_t> parse_duration_ns(std::string_view s);
Result<uint64_t> parse_time_arg(std::string_view s, uint64_t now_ns);
// 2026-11-30T03:00:00.123456789Z
std::string rfc3339(uint64_t ns);

}  // namespace xcap::archive
