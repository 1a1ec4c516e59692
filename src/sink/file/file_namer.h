// File names and -G period math for the file ring (an outside contract: README "Files"):
//   <base>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext>
// base is the -w path without a trailing .pcap/.pcapng; the time is the first packet's
// time in UTC with nanoseconds; seq counts the files of the base, zero-padded to 6 digits (it
// grows past 6 digits rather than wrapping): a run continues after the highest seq any earlier
// run left (file_recovery.h); ext is pcap or pcapng. A file being written
// carries an extra ".part" and is renamed to its final name when complete.
//
// Split by source (--split source, FileRingConfig::split_by_source): every output (mirror
// source) has its own ring of files, and the source goes between base and the rest:
//   rotating:     <base>-<source>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq>.<ext>
//   not rotating: <base>-<source>.<ext>
// seq counts the files of that source (each source has its own -W). <source> is the source's
// interface name (InterfaceTable; the capture interface for output 0) made file-name safe by
// source_file_part: a name such as "vxlan:198.18.0.10:vni100" or "geneve:2001:db8::1:vni7-ip"
// carries ':' (and could carry '/'), which would cut the path or trip shells, Windows shares
// and tools that read "host:path"; so every byte outside [A-Za-z0-9._-] becomes '_'
// ("vxlan_198.18.0.10_vni100"). The source comes right after base, before the time stamp,
// so `ls <base>-<source>-*` lists one source's ring in time order, and the name still ends in
// the same -<stamp>-<seq>.<ext> tail as an unsplit ring.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace xcap::sink {

inline constexpr std::string_view kPartSuffix = ".part";

// "/data/cap.pcap" -> "/data/cap"; "/data/cap" -> "/data/cap".
std::string rotation_base(std::string_view path);

// "20240229T235959.123456789Z" for a UTC nanosecond timestamp.
std::string utc_stamp(uint64_t ts_ns);
// The timestamp utc_stamp wrote; nullopt for anything else.
std::optional<uint64_t> parse_utc_stamp(std::string_view stamp);

// <base>-<utc_stamp(first_ts_ns)>-<seq, 6 digits>.<ext>
std::string rotation_file_name(std::string_view base, uint64_t first_ts_ns, uint64_t seq,
                               std::string_view ext);

// The stamp and seq of a ring file name: file_name (no directory) must be exactly
// <base_name>-<YYYYmmddTHHMMSS.nnnnnnnnnZ>-<seq, 6+ digits>.<pcap|pcapng>, where base_name is
// the last component of a rotation base. Anything else (a .part, another base that only
// starts like this one, such as a --split source's ring) is nullopt.
struct RingFileName {
  std::string stamp;
  uint64_t seq = 0;
};
std::optional<RingFileName> parse_ring_file_name(std::string_view file_name,
                                                 std::string_view base_name);

// The n-th (n >= 1) alternative to a final name already taken, for an output xcap must not
// overwrite: "/d/x.pcap" -> "/d/x.1.pcap", "/d/x.pcapng" -> "/d/x.1.pcapng", "/d/x" -> "/d/x.1".
std::string numbered_name(std::string_view path, unsigned n);

// The file-name-safe form of an interface name: bytes outside [A-Za-z0-9._-] become '_'.
// An empty name gives "if<id>".
std::string source_file_part(std::string_view iface_name, uint32_t id);

// -G periods are aligned to wall-clock multiples of the period since the Unix epoch: the
// period of ts is floor(ts / G). rotate_seconds must be > 0.
constexpr uint64_t period_ns(uint32_t rotate_seconds) {
  return uint64_t{rotate_seconds} * 1'000'000'000u;
}
constexpr uint64_t period_index(uint64_t ts_ns, uint32_t rotate_seconds) {
  return ts_ns / period_ns(rotate_seconds);
}

}  // namespace xcap::sink
