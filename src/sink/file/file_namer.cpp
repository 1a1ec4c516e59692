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

std::string source_file_name(std::string_view base, std::string_view source, std::string_view ext) {
  std::string name(base);
  name += '-';
  name += source;
  name += '.';
  name += ext;
  return name;
}

}  // namespace xcap::sink
