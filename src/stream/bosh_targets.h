// The targets of `xcap stream --bosh DEPLOYMENT[/GROUP[/ID]]`: the instances of a BOSH
// deployment, found through the Director's API (https://bosh.io/docs/director-api-v1/):
//   GET /info                        -> user_authentication {type: uaa, options.url} or basic
//   POST {uaa}/oauth/token           grant_type=client_credentials, HTTP basic client:secret
//   GET /deployments/D/vms           [{job, index, id, ips: [...]}, ...] with the bearer token
// Each instance is one target at its first IP, named GROUP/ID.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "stream/targets.h"

namespace xcap::stream {

inline constexpr uint16_t kBoshDirectorPort = 25555;

// The BOSH CLI's environment variables.
struct BoshEnvironment {
  std::string environment;            // BOSH_ENVIRONMENT: the Director's URL or address
  std::string client, client_secret;  // BOSH_CLIENT, BOSH_CLIENT_SECRET
  std::string ca_cert;                // BOSH_CA_CERT: a path or the PEM text
};
BoshEnvironment bosh_environment_from_env();

struct BoshSelector {
  std::string deployment, group, id;  // group and id empty: every one
};
// "DEPLOYMENT[/GROUP[/ID]]"; ID is an instance id or an index.
Result<BoshSelector> parse_bosh_selector(const std::string& text);

// The selected instances as targets on port, plain or TLS as tls says.
Result<std::vector<Target>> resolve_bosh_targets(const BoshSelector& sel,
                                                 const BoshEnvironment& env, uint16_t port,
                                                 bool tls,
                                                 std::chrono::steady_clock::duration timeout);

}  // namespace xcap::stream
