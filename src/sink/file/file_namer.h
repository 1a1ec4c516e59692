// File names and -G period math for the file ring (an outside contract, see DESIGN.md):
//   <base>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext>
// base is the -w path without a trailing .pcap/.pcapng; the time is the first packet's
// time in UTC with nanoseconds; seq counts files of this run from 0, zero-padded to 6 digits
// (it grows past 6 digits rather than wrapping); ext is pcap or pcapng. A file being written
// carries an extra ".part" and is renamed to its final name when complete.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace xcap::sink {

inline constexpr std::string_view kPartSuffix = ".part";

// "/data/cap.pcap" -> "/data/cap"; "/data/cap" -> "/data/cap".
std::string rotation_base(std::string_view path);

// "20240229T235959.123456789Z" for a UTC nanosecond timestamp.
std::string utc_stamp(uint64_t ts_ns);

// <base>-<utc_stamp(first_ts_ns)>-<seq, 6 digits>.<ext>
std::string rotation_file_name(std::string_view base, uint64_t first_ts_ns, uint64_t seq,
                               std::string_view ext);

// -G periods are aligned to wall-clock multiples of the period since the Unix epoch: the
// period of ts is floor(ts / G). rotate_seconds must be > 0.
constexpr uint64_t period_ns(uint32_t rotate_seconds) {
  return uint64_t{rotate_seconds} * 1'000'000'000u;
}
constexpr uint64_t period_index(uint64_t ts_ns, uint32_t rotate_seconds) {
  return ts_ns / period_ns(rotate_seconds);
}

}  // namespace xcap::sink
