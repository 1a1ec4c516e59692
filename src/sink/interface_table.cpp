#include "sink/interface_table.h"

namespace xcap::sink {

InterfaceTable::InterfaceTable(InterfaceInfo first)
    : entries_(std::make_unique<InterfaceInfo[]>(kCapacity)) {
  by_name_.emplace(first.name, 0);
  entries_[0] = std::move(first);
  published_.store(1, std::memory_order_release);
}

uint32_t InterfaceTable::add(const std::string& name, uint32_t link_type) {
  std::lock_guard lock(mu_);
  if (auto it = by_name_.find(name); it != by_name_.end()) return it->second;
  const uint32_t id = published_.load(std::memory_order_relaxed);
  if (id >= kCapacity) {
    full_.store(true, std::memory_order_relaxed);
    return 0;
  }
  entries_[id] = InterfaceInfo{name, link_type};
  by_name_.emplace(name, id);
  published_.store(id + 1, std::memory_order_release);  // the entry is complete before this
  return id;
}

}  // namespace xcap::sink
