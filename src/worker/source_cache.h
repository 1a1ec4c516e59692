// SourceCache: a worker's own map from mirror source (decap SourceKey + inner link type) to
// pcapng interface id. The packet path only reads it (and a one-entry memo, since packets of
// one source come in runs); a source this worker has not met yet is registered once in the
// capture-wide InterfaceTable (a mutex, cold path) and remembered here.
//
// An interface has one link type, so a source that sends both Ethernet and bare IP packets
// gets two interfaces: the raw-IP one is named with an "-ip" suffix.
#pragma once

#include <cstdint>
#include <unordered_map>

#include "decap/link_type.h"
#include "decap/source_key.h"
#include "sink/interface_table.h"

namespace xcap::worker {

class SourceCache {
 public:
  explicit SourceCache(sink::InterfaceTable& table) : table_(table) {}

  uint32_t iface_for(const SourceKey& key, LinkType link) {
    if (memo_valid_ && key == memo_key_ && link == memo_link_) return memo_id_;
    auto& map = link == LinkType::Raw ? raw_ : ethernet_;
    auto it = map.find(key);
    uint32_t id;
    if (it != map.end()) {
      id = it->second;
    } else {
      id =
          table_.add(link == LinkType::Raw ? key.name() + "-ip" : key.name(), linktype_value(link));
      map.emplace(key, id);
    }
    memo_key_ = key;
    memo_link_ = link;
    memo_id_ = id;
    memo_valid_ = true;
    return id;
  }

 private:
  sink::InterfaceTable& table_;
  std::unordered_map<SourceKey, uint32_t> ethernet_, raw_;
  SourceKey memo_key_;
  LinkType memo_link_ = LinkType::Ethernet;
  uint32_t memo_id_ = 0;
  bool memo_valid_ = false;
};

}  // namespace xcap::worker
