#include "archive/time_arg.h"

#include <cctype>
#include <ctime>
#include <limits>

namespace xcap::archive {
namespace {

constexpr uint64_t kSecond = 1'000'000'000ull;

bool digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; i++) {
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

Error bad_time(std::string_view s) {
  return invalid_input("'" + std::string(s) +
                       "': expected an RFC 3339 time (2026-11-30T03:00:00Z, "
                       "2026-11-30T04:00:00.5+01:00, 2026-11-30) or one relative to now "
                       "(-15m, -1h30m, -2d, now)");
}

// Seconds since the epoch of a UTC calendar time; false for a day the month does not have.
bool epoch_seconds(int y, int mo, int d, int h, int mi, int sec, int64_t* out) {
  if (y < 1970 || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 59)
    return false;
  struct tm tm {};
  tm.tm_year = y - 1900, tm.tm_mon = mo - 1, tm.tm_mday = d;
  tm.tm_hour = h, tm.tm_min = mi, tm.tm_sec = sec;
  const time_t t = timegm(&tm);
  if (tm.tm_mday != d || tm.tm_mon != mo - 1) return false;  // normalised: 31 April
  *out = t;
  return true;
}

// [.fraction] at s[i], as nanoseconds; i moves past it.
bool fraction(std::string_view s, size_t& i, uint64_t* ns) {
  *ns = 0;
  if (i >= s.size() || s[i] != '.') return true;
  i++;
  uint64_t scale = kSecond / 10;
  const size_t start = i;
  for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); i++, scale /= 10)
    *ns += uint64_t(s[i] - '0') * scale;  // digits past nanoseconds add 0
  return i > start;
}

// Z, or +HH:MM / -HH:MM at s[i] (the whole rest): the offset east of UTC in seconds.
bool zone(std::string_view s, size_t i, int64_t* east) {
  if (i + 1 == s.size() && (s[i] == 'Z' || s[i] == 'z')) return *east = 0, true;
  int h = 0, m = 0;
  if (i + 6 != s.size() || (s[i] != '+' && s[i] != '-') || !digits(s, i + 1, 2, &h) ||
      s[i + 3] != ':' || !digits(s, i + 4, 2, &m) || h > 23 || m > 59)
    return false;
  *east = (s[i] == '-' ? -1 : 1) * (h * 3600 + m * 60);
  return true;
}

Result<uint64_t> parse_rfc3339(std::string_view s) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  if (!digits(s, 0, 4, &y) || s.size() < 10 || s[4] != '-' || !digits(s, 5, 2, &mo) ||
      s[7] != '-' || !digits(s, 8, 2, &d))
    return bad_time(s);
  uint64_t frac = 0;
  int64_t east = 0;
  if (s.size() > 10) {
    if ((s[10] != 'T' && s[10] != 't' && s[10] != ' ') || !digits(s, 11, 2, &h) || s.size() < 19 ||
        s[13] != ':' || !digits(s, 14, 2, &mi) || s[16] != ':' || !digits(s, 17, 2, &sec))
      return bad_time(s);
    size_t i = 19;
    if (!fraction(s, i, &frac) || !zone(s, i, &east)) return bad_time(s);
  }
  int64_t t = 0;
  if (!epoch_seconds(y, mo, d, h, mi, sec, &t) || t - east < 0) return bad_time(s);
  return uint64_t(t - east) * kSecond + frac;
}

}  // namespace

Result<uint64_t> parse_duration_ns(std::string_view s) {
  auto bad = [&] {
    return invalid_input("'" + std::string(s) + "': expected a duration such as 90s, 15m, " +
                         "1h30m or 2d");
  };
  if (s.empty()) return bad();
  uint64_t total = 0;
  size_t i = 0;
  while (i < s.size()) {
    uint64_t n = 0;
    const size_t start = i;
    for (; i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])); i++) {
      if (n > 1'000'000'000) return bad();
      n = n * 10 + uint64_t(s[i] - '0');
    }
    if (i == start || i == s.size()) return bad();
    const char unit = s[i++];
    const uint64_t secs = unit == 's'   ? 1
                          : unit == 'm' ? 60
                          : unit == 'h' ? 3600
                          : unit == 'd' ? 86400
                                        : 0;
    if (secs == 0 || n * secs > std::numeric_limits<uint64_t>::max() / kSecond - total / kSecond)
      return bad();
    total += n * secs * kSecond;
  }
  return total;
}

Result<uint64_t> parse_time_arg(std::string_view s, uint64_t now_ns) {
  if (s == "now") return now_ns;
  if (s.starts_with('-')) {
    auto d = parse_duration_ns(s.substr(1));
    if (!d) return bad_time(s);
    return *d > now_ns ? 0 : now_ns - *d;
  }
  return parse_rfc3339(s);
}

std::string rfc3339(uint64_t ns) {
  const time_t secs = static_cast<time_t>(ns / kSecond);
  struct tm tm {};
  gmtime_r(&secs, &tm);
  char buf[48];
  snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09uZ", tm.tm_year + 1900, tm.tm_mon + 1,
           tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<unsigned>(ns % kSecond));
  return buf;
}

}  // namespace xcap::archive
