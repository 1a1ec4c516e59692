#include "metrics/family_builder.h"

namespace xcap::metrics {
namespace {

prometheus::ClientMetric sample(const LabelList& labels) {
  prometheus::ClientMetric m;
  for (const auto& [k, v] : labels) m.label.push_back({k, v});
  return m;
}

}  // namespace

prometheus::MetricFamily& FamilyBuilder::family(const std::string& name, const std::string& help,
                                                prometheus::MetricType type) {
  for (auto& f : families_)
    if (f.name == name) return f;
  families_.push_back(prometheus::MetricFamily{name, help, type, {}});
  return families_.back();
}

void FamilyBuilder::counter(const std::string& name, const std::string& help,
                            const LabelList& labels, double value) {
  auto m = sample(labels);
  m.counter.value = value;
  family(name, help, prometheus::MetricType::Counter).metric.push_back(std::move(m));
}

void FamilyBuilder::gauge(const std::string& name, const std::string& help, const LabelList& labels,
                          double value) {
  auto m = sample(labels);
  m.gauge.value = value;
  family(name, help, prometheus::MetricType::Gauge).metric.push_back(std::move(m));
}

}  // namespace xcap::metrics
