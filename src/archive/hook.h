// -z CMD, as in tcpdump: runs CMD with a completed file's path as its only argument, with no
// shell (CMD is one program, looked up in PATH), and waits for it.
#pragma once

#include <string>

#include "common/result.h"

namespace xcap::archive {

// Error when CMD cannot be started, is killed by a signal or exits non-zero.
Result<void> run_hook(const std::string& cmd, const std::string& path);

}  // namespace xcap::archive
