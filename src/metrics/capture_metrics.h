// The Prometheus schema of a capture: metric names, help texts and labels, rendered from a
// CaptureSnapshot at scrape time. README "Dashboards" lists them; the names are a contract
// that dashboards and alerts use (extend, never rename).
#pragma once

#include "metrics/capture_snapshot.h"
#include "metrics/family_builder.h"

namespace xcap::metrics {

void render_capture_metrics(const CaptureSnapshot& s, FamilyBuilder& b);

}  // namespace xcap::metrics
