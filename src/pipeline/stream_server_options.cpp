#include "pipeline/stream_server_options.h"

#include <sys/stat.h>

#include "common/log.h"
#include "common/token_file.h"

namespace xcap::pipeline {
namespace {

// The token, and a warning when every user of the host can read it.
Result<std::string> read_token(const std::string& path) {
  auto token = read_token_file(path, "--token-file");
  if (!token) return token;
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    log_info("--token-file %s is readable by every user of this host (chmod 600 it)", path.c_str());
  return token;
}

}  // namespace

Result<sink::fanout::StreamServerConfig> stream_server_config(const ServerOptions& o) {
  sink::fanout::StreamServerConfig c;
  c.listen = o.listen;
  if (!o.token_file.empty()) {
    auto t = read_token(o.token_file);
    if (!t) return t.error();
    c.token = *t;
  }
  c.tls_cert = o.tls_cert;
  c.tls_key = o.tls_key;
  c.tls_client_ca = o.tls_client_ca;
  c.max_streams = o.max_streams;
  c.max_streams_per_client = o.max_streams_per_client;
  c.stream_buffer_bytes = o.buffer_bytes;
  return c;
}

}  // namespace xcap::pipeline
