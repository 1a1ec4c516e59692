#include "archive/archive_query.h"

#include <algorithm>

namespace xcap::archive {
namespace {

bool wanted(const std::vector<std::string>& only, const std::string& name) {
  return only.empty() || std::find(only.begin(), only.end(), name) != only.end();
}

// "PREFIX/a/" -> "a"
std::string last_folder(const std::string& folder) {
  const std::string s = folder.substr(0, folder.size() - 1);
  return s.substr(s.rfind('/') + 1);
}

// The folders right under base that the filter keeps (every one when it is empty).
Result<std::vector<std::string>> chosen_folders(StoreReader& store, const std::string& base,
                                                const std::vector<std::string>& only) {
  auto all = store.folders(base);
  if (!all) return all.error();
  std::vector<std::string> out;
  for (const std::string& f : *all)
    if (wanted(only, last_folder(f))) out.push_back(f);
  return out;
}

// Lists one lane (PREFIX/<sink>/<source>/) from the day of since_ns on.
Result<void> list_lane(StoreReader& store, const std::string& lane, const std::string& prefix,
                       const ArchiveQuery& q, uint64_t since_ns, FoundObjects* found) {
  const std::string start_after = since_ns > 0 ? lane + date_folder(since_ns) : "";
  return store.list(lane, start_after, [&](const ListedKey& k) {
    auto o = parse_object_key(k.key, prefix);
    if (!o) {
      found->foreign++;
      return true;
    }
    if (o->facts.first_ns > q.to_ns) return false;  // every later key starts later still
    if (o->facts.last_ns >= q.from_ns) {
      o->size = k.size;
      found->objects.push_back(std::move(*o));
    }
    return true;
  });
}

}  // namespace

Result<FoundObjects> find_objects(StoreReader& store, const std::string& prefix,
                                  const ArchiveQuery& q) {
  const std::string base = prefix.empty() ? "" : prefix + "/";
  const uint64_t since = q.from_ns > q.lookback_ns ? q.from_ns - q.lookback_ns : 0;
  FoundObjects found;
  auto sinks = chosen_folders(store, base, q.sinks);
  if (!sinks) return sinks.error();
  for (const std::string& sink : *sinks) {
    auto sources = chosen_folders(store, sink, q.sources);
    if (!sources) return sources.error();
    for (const std::string& lane : *sources)
      if (auto r = list_lane(store, lane, prefix, q, since, &found); !r) return r.error();
  }
  std::sort(found.objects.begin(), found.objects.end(), starts_before);
  return found;
}

}  // namespace xcap::archive
