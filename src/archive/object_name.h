// Object names in the archive (an outside contract: README "Archive"):
//   PREFIX/<sink-id>/<source>/<YYYY>/<MM>/<DD>/<first-UTC>_<last-UTC>_<seq>.<ext>[.zst|.gz]
// The date and <first-UTC> are the first packet's time, <last-UTC> the last packet's, both
// as the ring's YYYYmmddTHHMMSS.nnnnnnnnnZ; <seq> is the ring file's seq (6+ digits); <source>
// is the file's --split source part or "all". Everything comes from the file itself (its name
// and its records), so a file uploaded again after a crash gets the same name, and two sinks
// with different ids never share one.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "archive/archive_config.h"

namespace xcap::archive {

// What a completed ring file's name says: <base_name>[-<source>]-<stamp>-<seq>.<pcap|pcapng>.
struct SpoolName {
  std::string source;  // the --split source part, or "all"
  std::string stamp;   // YYYYmmddTHHMMSS.nnnnnnnnnZ (first packet, as named by the writer)
  uint64_t seq = 0;
  std::string ext;  // "pcap" or "pcapng"
};
// nullopt for anything else: a .part, another base, a numbered single file.
std::optional<SpoolName> parse_spool_name(std::string_view file_name, std::string_view base_name);

// A sink id or source part is one key segment: 1-128 of [A-Za-z0-9._-], not "." or "..".
bool valid_key_segment(std::string_view s);

struct ObjectFacts {
  std::string source;  // "all" or the split source part
  uint64_t first_ns = 0, last_ns = 0;
  uint64_t seq = 0;
  std::string ext;  // "pcap" or "pcapng"
};
std::string object_key(std::string_view prefix, std::string_view sink_id, const ObjectFacts& f,
                       Compression c);
// The date folder of an object whose first packet is at ts_ns: "YYYY/MM/DD" (UTC).
std::string date_folder(uint64_t ts_ns);

// An object of the archive, as its key names it (the inverse of object_key).
struct ArchivedObject {
  std::string key;
  uint64_t size = 0;  // bytes stored (from the listing)
  std::string sink_id;
  ObjectFacts facts;
  Compression compression = Compression::None;
};
// Archive order: by first packet, then by key.
bool starts_before(const ArchivedObject& a, const ArchivedObject& b);
// nullopt for a key under prefix that object_key could not have written (another tool's).
std::optional<ArchivedObject> parse_object_key(std::string_view key, std::string_view prefix);

// A key as it goes into a URL path: every byte but A-Za-z0-9 - _ . ~ / percent-encoded
// (%XX, upper case), which is also how SigV4 canonicalises it.
std::string encode_key(std::string_view key);

}  // namespace xcap::archive
