#include "pipeline/stream_server_options.h"

#include <sys/stat.h>

#include <fstream>

#include "common/log.h"

namespace xcap::pipeline {
namespace {

// The first line, without surrounding white space: the format of `openssl rand -hex 32 >F`.
Result<std::string> read_token(const std::string& path) {
  std::ifstream in(path);
  if (!in) {
    Error e = errno_error("--token-file '" + path + "': cannot read");
    e.kind = ErrorKind::InvalidInput;
    return e;
  }
  std::string line;
  std::getline(in, line);
  const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
  if (b == std::string::npos) return invalid_input("--token-file '" + path + "': is empty");
  struct stat st {};
  if (stat(path.c_str(), &st) == 0 && (st.st_mode & S_IROTH))
    log_info("--token-file %s is readable by every user of this host (chmod 600 it)", path.c_str());
  return line.substr(b, e - b + 1);
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
