// FamilyBuilder: assembles prometheus-cpp MetricFamily values at scrape time. xcap keeps its
// counters as plain per-worker integers and kernel maps; a scrape turns them into families
// here instead of mirroring every increment into prometheus-cpp objects on the packet path.
#pragma once

#include <prometheus/metric_family.h>

#include <initializer_list>
#include <string>
#include <utility>
#include <vector>

namespace xcap::metrics {

using LabelList = std::vector<std::pair<std::string, std::string>>;

class FamilyBuilder {
 public:
  // Adds a sample; the family (name, help, type) is created on first use.
  void counter(const std::string& name, const std::string& help, const LabelList& labels,
               double value);
  void gauge(const std::string& name, const std::string& help, const LabelList& labels,
             double value);
  std::vector<prometheus::MetricFamily> take() { return std::move(families_); }

 private:
  prometheus::MetricFamily& family(const std::string& name, const std::string& help,
                                   prometheus::MetricType type);
  std::vector<prometheus::MetricFamily> families_;
};

}  // namespace xcap::metrics
