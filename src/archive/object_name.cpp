#include "archive/object_name.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <tuple>

#include "sink/file/file_namer.h"

namespace xcap::archive {
namespace {

constexpr size_t kStampLen = 26;  // YYYYmmddTHHMMSS.nnnnnnnnnZ

bool is_stamp(std::string_view s) {
  if (s.size() != kStampLen || s[8] != 'T' || s[15] != '.' || s[25] != 'Z') return false;
  for (size_t i = 0; i < 25; i++)
    if (i != 8 && i != 15 && !std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  return true;
}

// Strips ".pcap" or ".pcapng" into *ext.
bool strip_ext(std::string_view& name, std::string* ext) {
  for (std::string_view e : {".pcapng", ".pcap"})
    if (name.ends_with(e)) {
      *ext = std::string(e.substr(1));
      name.remove_suffix(e.size());
      return true;
    }
  return false;
}

}  // namespace

std::optional<SpoolName> parse_spool_name(std::string_view name, std::string_view base_name) {
  SpoolName s;
  if (!name.starts_with(base_name) || !strip_ext(name, &s.ext)) return std::nullopt;
  const size_t dash = name.rfind('-');
  if (dash == std::string_view::npos) return std::nullopt;
  std::string_view seq = name.substr(dash + 1);
  if (seq.size() < 6 || !std::all_of(seq.begin(), seq.end(), ::isdigit)) return std::nullopt;
  if (std::from_chars(seq.data(), seq.data() + seq.size(), s.seq).ec != std::errc())
    return std::nullopt;
  name = name.substr(0, dash);
  if (name.size() < kStampLen + 1 || !is_stamp(name.substr(name.size() - kStampLen)) ||
      name[name.size() - kStampLen - 1] != '-')
    return std::nullopt;
  s.stamp = std::string(name.substr(name.size() - kStampLen));
  name.remove_suffix(kStampLen + 1);
  if (name == base_name) {
    s.source = "all";
    return s;
  }
  if (name.size() <= base_name.size() + 1 || name[base_name.size()] != '-') return std::nullopt;
  s.source = std::string(name.substr(base_name.size() + 1));
  if (!valid_key_segment(s.source)) return std::nullopt;
  return s;
}

bool valid_key_segment(std::string_view s) {
  if (s.empty() || s.size() > 128 || s == "." || s == "..") return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

std::string object_key(std::string_view prefix, std::string_view sink_id, const ObjectFacts& f,
                       Compression c) {
  const std::string first = sink::utc_stamp(f.first_ns);
  const std::string last = sink::utc_stamp(f.last_ns);
  char seq[24];
  snprintf(seq, sizeof seq, "%06llu", static_cast<unsigned long long>(f.seq));
  std::string key;
  if (!prefix.empty()) key.append(prefix).push_back('/');
  key.append(sink_id).append("/").append(f.source).append("/");
  key.append(date_folder(f.first_ns))
      .append("/")
      .append(first)
      .append("_")
      .append(last)
      .append("_")
      .append(seq);
  key.append(".").append(f.ext).append(compression_suffix(c));
  return key;
}

std::string date_folder(uint64_t ts_ns) {
  const std::string s = sink::utc_stamp(ts_ns);  // YYYYmmddT...
  return s.substr(0, 4) + "/" + s.substr(4, 2) + "/" + s.substr(6, 2);
}

namespace {

// The next '/'-separated segment of *rest; false when there is none.
bool next_segment(std::string_view* rest, std::string_view* seg) {
  const size_t slash = rest->find('/');
  if (slash == std::string_view::npos) return false;
  *seg = rest->substr(0, slash);
  rest->remove_prefix(slash + 1);
  return true;
}

// <first>_<last>_<seq>.<ext>[.zst|.gz], in the date folder of <first>.
bool parse_leaf(std::string_view leaf, std::string_view date, ArchivedObject* o) {
  for (Compression c : {Compression::Zstd, Compression::Gzip})
    if (leaf.ends_with(compression_suffix(c))) {
      o->compression = c;
      leaf.remove_suffix(compression_suffix(c).size());
      break;
    }
  if (!strip_ext(leaf, &o->facts.ext) || leaf.size() < 2 * kStampLen + 2 + 6 ||
      leaf[kStampLen] != '_' || leaf[2 * kStampLen + 1] != '_')
    return false;
  const auto first = sink::parse_utc_stamp(leaf.substr(0, kStampLen));
  const auto last = sink::parse_utc_stamp(leaf.substr(kStampLen + 1, kStampLen));
  const std::string_view seq = leaf.substr(2 * kStampLen + 2);
  if (!first || !last || *last < *first || seq.size() > 19 ||
      !std::all_of(seq.begin(), seq.end(), ::isdigit) ||
      std::from_chars(seq.data(), seq.data() + seq.size(), o->facts.seq).ec != std::errc())
    return false;
  o->facts.first_ns = *first, o->facts.last_ns = *last;
  return date == date_folder(*first);
}

}  // namespace

bool starts_before(const ArchivedObject& a, const ArchivedObject& b) {
  return std::tie(a.facts.first_ns, a.key) < std::tie(b.facts.first_ns, b.key);
}

std::optional<ArchivedObject> parse_object_key(std::string_view key, std::string_view prefix) {
  std::string_view rest = key;
  if (!prefix.empty()) {
    if (!rest.starts_with(prefix) || rest.size() <= prefix.size() || rest[prefix.size()] != '/')
      return std::nullopt;
    rest.remove_prefix(prefix.size() + 1);
  }
  ArchivedObject o;
  std::string_view sink, source;
  if (!next_segment(&rest, &sink) || !next_segment(&rest, &source) || !valid_key_segment(sink) ||
      !valid_key_segment(source) || rest.size() < 11)
    return std::nullopt;
  if (!parse_leaf(rest.substr(11), rest.substr(0, 10), &o) || rest[10] != '/') return std::nullopt;
  o.key = std::string(key);
  o.sink_id = std::string(sink);
  o.facts.source = std::string(source);
  return o;
}

std::string encode_key(std::string_view key) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(key.size());
  for (const char ch : key) {
    const auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

}  // namespace xcap::archive
