// `xcap stream`: gathers the targets (command line, --targets, --targets-cmd, --bosh), opens
// the output, follows every target until each ends or Ctrl-C, then prints one summary line
// per target. Returns the process exit status: 0 no target failed, 1 one did, 2 bad usage.
#pragma once

#include <string>
#include <vector>

namespace xcap::cli {

int stream_command(const std::vector<std::string>& args);

}  // namespace xcap::cli
