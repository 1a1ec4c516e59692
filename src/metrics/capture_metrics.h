// The Prometheus schema of a capture: metric names, help texts and labels, rendered from a
// CaptureSnapshot at scrape time. README "Dashboards" lists them; the names are a contract
// that dashboards and alerts use (extend, never rename).
#pragma once

#include <vector>

#include "metrics/capture_snapshot.h"
#include "metrics/family_builder.h"

namespace xcap::metrics {

void render_capture_metrics(const CaptureSnapshot& s, FamilyBuilder& b);
// Several captures (xcap serve, one per interface): each by its iface label.
void render_capture_metrics(const std::vector<CaptureSnapshot>& all, FamilyBuilder& b);

}  // namespace xcap::metrics
