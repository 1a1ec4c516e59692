// InterfaceTable: the pcapng interfaces of one capture. Interface 0 is the capture interface
// itself; decapsulation adds one per mirror source (vxlan:198.18.0.10:vni100, ...) the first
// time a worker meets it. The table only grows: an entry, once published, never changes, so
// the file writer reads entries below published() without a lock. Adding takes a mutex, but
// only workers that meet a source for the first time add; the packet path looks sources up in
// its own per-worker cache (worker/source_cache.h).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

namespace xcap::sink {

struct InterfaceInfo {
  std::string name;    // pcapng if_name
  uint32_t link_type;  // LINKTYPE_ETHERNET (1), LINKTYPE_RAW (101)
};

class InterfaceTable {
 public:
  static constexpr uint32_t kCapacity = 1 << 16;  // sources beyond this share interface 0

  explicit InterfaceTable(InterfaceInfo first);
  // The id of the interface with this name, added if new. Cold path (mutex). Returns 0 when
  // the table is full (the source's packets then go to interface 0, and full() says so).
  uint32_t add(const std::string& name, uint32_t link_type);
  // Entries [0, published()) are complete and immutable.
  uint32_t published() const { return published_.load(std::memory_order_acquire); }
  const InterfaceInfo& at(uint32_t id) const { return entries_[id]; }
  bool full() const { return full_.load(std::memory_order_relaxed); }

 private:
  std::unique_ptr<InterfaceInfo[]> entries_;  // fixed capacity: never moves under a reader
  std::atomic<uint32_t> published_{0};
  std::atomic<bool> full_{false};
  std::mutex mu_;
  std::unordered_map<std::string, uint32_t> by_name_;
};

}  // namespace xcap::sink
