#include "sink/file/file_namer.h"

#include <cinttypes>
#include <cstdio>
#include <ctime>

namespace xcap::sink {

std::string rotation_base(std::string_view path) {
  for (std::string_view ext : {".pcapng", ".pcap"}) {
    if (path.size() > ext.size() && path.ends_with(ext)) {
      path.remove_suffix(ext.size());
      break;
    }
  }
  return std::string(path);
}

std::string utc_stamp(uint64_t ts_ns) {
  const time_t secs = static_cast<time_t>(ts_ns / 1'000'000'000u);
  const auto nanos = static_cast<unsigned>(ts_ns % 1'000'000'000u);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[64];
  snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, nanos);
  return buf;
}

std::optional<uint64_t> parse_utc_stamp(std::string_view s) {
  // YYYYmmddTHHMMSS.nnnnnnnnnZ
  if (s.size() != 26 || s[8] != 'T' || s[15] != '.' || s[25] != 'Z') return std::nullopt;
  uint64_t f[7] = {};
  const std::pair<size_t, size_t> fields[7] = {{0, 4},  {4, 2},  {6, 2}, {9, 2},
                                               {11, 2}, {13, 2}, {16, 9}};
  for (int i = 0; i < 7; i++)
    for (size_t k = fields[i].first; k < fields[i].first + fields[i].second; k++) {
      if (s[k] < '0' || s[k] > '9') return std::nullopt;
      f[i] = f[i] * 10 + uint64_t(s[k] - '0');
    }
  struct tm tm {};
  tm.tm_year = int(f[0]) - 1900, tm.tm_mon = int(f[1]) - 1, tm.tm_mday = int(f[2]);
  tm.tm_hour = int(f[3]), tm.tm_min = int(f[4]), tm.tm_sec = int(f[5]);
  const time_t t = timegm(&tm);
  if (t < 0 || utc_stamp(uint64_t(t) * 1'000'000'000u + f[6]) != s) return std::nullopt;
  return uint64_t(t) * 1'000'000'000u + f[6];
}

std::string rotation_file_name(std::string_view base, uint64_t first_ts_ns, uint64_t seq,
                               std::string_view ext) {
  char seq_buf[24];
  snprintf(seq_buf, sizeof seq_buf, "%06" PRIu64, seq);
  std::string name(base);
  name += '-';
  name += utc_stamp(first_ts_ns);
  name += '-';
  name += seq_buf;
  name += '.';
  name += ext;
  return name;
}

std::optional<RingFileName> parse_ring_file_name(std::string_view name,
                                                 std::string_view base_name) {
  // <base_name>-YYYYmmddTHHMMSS.nnnnnnnnnZ-<seq>.<ext>
  constexpr size_t kStampLen = 26;  // 8 + 'T' + 6 + '.' + 9 + 'Z'
  if (!name.starts_with(base_name) || name.size() <= base_name.size() + 1) return std::nullopt;
  name.remove_prefix(base_name.size());
  if (name[0] != '-') return std::nullopt;
  name.remove_prefix(1);
  if (name.size() < kStampLen + 1) return std::nullopt;
  const std::string_view stamp = name.substr(0, kStampLen);
  auto digits = [](std::string_view s) {
    for (char c : s)
      if (c < '0' || c > '9') return false;
    return !s.empty();
  };
  if (!digits(stamp.substr(0, 8)) || stamp[8] != 'T' || !digits(stamp.substr(9, 6)) ||
      stamp[15] != '.' || !digits(stamp.substr(16, 9)) || stamp[25] != 'Z')
    return std::nullopt;
  name.remove_prefix(kStampLen);
  if (name[0] != '-') return std::nullopt;
  name.remove_prefix(1);
  std::string_view seq;
  if (name.ends_with(".pcapng"))
    seq = name.substr(0, name.size() - 7);
  else if (name.ends_with(".pcap"))
    seq = name.substr(0, name.size() - 5);
  else
    return std::nullopt;
  if (seq.size() < 6 || seq.size() > 19 || !digits(seq)) return std::nullopt;
  RingFileName out;
  out.stamp = std::string(stamp);
  for (char c : seq) out.seq = out.seq * 10 + uint64_t(c - '0');
  return out;
}

std::string numbered_name(std::string_view path, unsigned n) {
  const std::string base = rotation_base(path);
  std::string out = base + "." + std::to_string(n);
  out += path.substr(base.size());  // ".pcap", ".pcapng" or nothing
  return out;
}

std::string source_file_part(std::string_view iface_name, uint32_t id) {
  if (iface_name.empty()) return "if" + std::to_string(id);
  std::string out(iface_name);
  for (char& c : out) {
    const bool safe = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '.' || c == '_' || c == '-';
    if (!safe) c = '_';
  }
  return out;
}

}  // namespace xcap::sink
