// The streaming server's configuration from the command line's ServerOptions: the token file
// is read here, when the capture starts, not while parsing.
#pragma once

#include "common/result.h"
#include "pipeline/capture_options.h"
#include "sink/fanout/stream_server.h"

namespace xcap::pipeline {

// Errors name the file (--token-file FILE: cannot read / is empty).
Result<sink::fanout::StreamServerConfig> stream_server_config(const ServerOptions& o);

}  // namespace xcap::pipeline
