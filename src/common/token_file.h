// The bearer token of --token-file, for the server (xcap serve, capture --listen) and the
// client (xcap stream) alike.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace xcap {

// The first line of the file at path, without surrounding blanks: the format of
// `openssl rand -hex 32 > FILE`. Errors (InvalidInput: the file the command line named) start
// with the flag and the file: "--token-file 'PATH': cannot read: ...", "...: empty first line".
Result<std::string> read_token_file(const std::string& path, std::string_view flag);

}  // namespace xcap
