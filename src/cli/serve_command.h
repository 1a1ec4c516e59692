// `xcap serve`: the capture agent. Serves live streams (--listen) and captures only while a
// client is subscribed (pipeline/on_demand_capture.h). Returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace xcap::cli {

int serve_command(const std::vector<std::string>& args);

}  // namespace xcap::cli
