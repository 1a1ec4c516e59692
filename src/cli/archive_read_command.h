// xcap archive ls / get: reading the archive back, every sink's objects at once (README
// "Archive: reading back"). args are what follows "ls" or "get".
#pragma once

#include <string>
#include <vector>

namespace xcap::cli {

int archive_ls(const std::vector<std::string>& args);
// stdout_is_terminal: -w is required then (a capture is not for a terminal).
int archive_get(const std::vector<std::string>& args, bool stdout_is_terminal);

}  // namespace xcap::cli
