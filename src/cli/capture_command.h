// `xcap capture`: builds the pipeline (lock, XDP program, sockets, workers, sinks, metrics),
// runs it until a signal, -c or --duration, then stops it without losing what the kernel
// delivered. Returns the process exit status.
#pragma once

#include <string>
#include <vector>

namespace xcap::cli {

int capture_command(const std::vector<std::string>& args);

}  // namespace xcap::cli
