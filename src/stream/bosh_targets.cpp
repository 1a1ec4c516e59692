#include "stream/bosh_targets.h"

#include <algorithm>
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <cstdlib>
#include <sstream>

#include "stream/http_fetch.h"

namespace xcap::stream {

namespace pt = boost::property_tree;

namespace {

std::string env_or_empty(const char* name) {
  const char* v = getenv(name);
  return v ? v : "";
}

std::string first_line(const std::string& s) {
  std::string l = s.substr(0, s.find('\n'));
  if (l.size() > 200) l = l.substr(0, 200) + "...";
  return l;
}

Result<pt::ptree> parse_json(const std::string& what, const std::string& body) {
  pt::ptree tree;
  std::istringstream in(body);
  try {
    pt::read_json(in, tree);
  } catch (const pt::json_parser_error& e) {
    return make_error(ErrorKind::System, what + ": the reply is not JSON (" + e.message() + ")");
  }
  return tree;
}

// GET or POST, expecting 200 and JSON.
Result<pt::ptree> fetch_json(const Target& server, const FetchRequest& rq,
                             std::shared_ptr<asio::ssl::context> tls,
                             std::chrono::steady_clock::duration timeout) {
  const std::string what = rq.method + " " + server.name + rq.path;
  auto reply = http_fetch(server, rq, std::move(tls), timeout);
  if (!reply) return reply.error().context(rq.method + " " + rq.path);
  if (reply->status != 200)
    return make_error(ErrorKind::System,
                      what + ": HTTP " + std::to_string(reply->status) +
                          (reply->body.empty() ? "" : ": " + first_line(reply->body)));
  return parse_json(what, reply->body);
}

// UAA's client-credentials grant: "Bearer ACCESS_TOKEN" for the Director's API.
Result<std::string> uaa_authorization(const std::string& url, const BoshEnvironment& env,
                                      std::shared_ptr<asio::ssl::context> ctx,
                                      std::chrono::steady_clock::duration timeout) {
  if (url.empty()) return make_error(ErrorKind::System, "BOSH Director: /info names no UAA URL");
  if (env.client.empty() || env.client_secret.empty())
    return invalid_input("BOSH_CLIENT and BOSH_CLIENT_SECRET must be set (UAA client credentials)");
  auto uaa = parse_endpoint(url, 443, true);
  if (!uaa) return uaa.error().context("BOSH UAA URL");
  FetchRequest rq{"POST",
                  uaa->path + "/oauth/token",
                  {{"Authorization", "Basic " + base64(env.client + ":" + env.client_secret)},
                   {"Content-Type", "application/x-www-form-urlencoded"},
                   {"Accept", "application/json"}},
                  "grant_type=client_credentials"};
  auto token = fetch_json(*uaa, rq, std::move(ctx), timeout);
  if (!token) return token.error().context("BOSH UAA");
  const std::string access = token->get("access_token", "");
  if (access.empty())
    return make_error(ErrorKind::System, "BOSH UAA: the token reply has no access_token");
  return "Bearer " + access;
}

// The Authorization header the Director asks for in its /info: a UAA token, or the client's
// name and secret as basic authentication.
Result<std::string> director_authorization(const pt::ptree& info, const BoshEnvironment& env,
                                           std::shared_ptr<asio::ssl::context> ctx,
                                           std::chrono::steady_clock::duration timeout) {
  const std::string type = info.get("user_authentication.type", "");
  if (type == "uaa")
    return uaa_authorization(info.get("user_authentication.options.url", ""), env, std::move(ctx),
                             timeout);
  if (type == "basic") return "Basic " + base64(env.client + ":" + env.client_secret);
  return make_error(ErrorKind::Unsupported,
                    "BOSH Director: authentication type '" + type + "' (expected uaa or basic)");
}

// The instances of the Director's /deployments/NAME/vms reply that sel picks, as targets
// named GROUP/ID at their first IP, sorted by name; none is an error (NotFound).
Result<std::vector<Target>> selected_instances(const pt::ptree& vms, const BoshSelector& sel,
                                               uint16_t port, bool tls) {
  std::vector<Target> out;
  for (const auto& [key, vm] : vms) {
    const std::string job = vm.get("job", ""), id = vm.get("id", ""), index = vm.get("index", "");
    if (!sel.group.empty() && job != sel.group) continue;
    if (!sel.id.empty() && id != sel.id && index != sel.id) continue;
    std::string ip;
    if (auto ips = vm.get_child_optional("ips"); ips && !ips->empty())
      ip = ips->begin()->second.get_value<std::string>();
    const std::string name = job + "/" + (id.empty() ? index : id);
    if (ip.empty())
      return make_error(ErrorKind::System,
                        "BOSH Director: instance " + name + " has no IP address");
    Target t;
    t.name = name;
    t.host = ip;
    t.port = port;
    t.tls = tls;
    t.path = "/capture";
    out.push_back(std::move(t));
  }
  if (out.empty())
    return make_error(ErrorKind::NotFound,
                      "BOSH deployment '" + sel.deployment + "' has no instance" +
                          (sel.group.empty() ? "" : " in group '" + sel.group + "'") +
                          (sel.id.empty() ? "" : " with id or index '" + sel.id + "'"));
  std::sort(out.begin(), out.end(),
            [](const Target& a, const Target& b) { return a.name < b.name; });
  return out;
}

}  // namespace

BoshEnvironment bosh_environment_from_env() {
  return {env_or_empty("BOSH_ENVIRONMENT"), env_or_empty("BOSH_CLIENT"),
          env_or_empty("BOSH_CLIENT_SECRET"), env_or_empty("BOSH_CA_CERT")};
}

Result<BoshSelector> parse_bosh_selector(const std::string& text) {
  BoshSelector s;
  std::vector<std::string> parts;
  std::string::size_type start = 0;
  for (;;) {
    const auto slash = text.find('/', start);
    parts.push_back(text.substr(start, slash - start));
    if (slash == std::string::npos) break;
    start = slash + 1;
  }
  if (parts.size() > 3 ||
      std::any_of(parts.begin(), parts.end(), [](auto& p) { return p.empty(); }))
    return invalid_input("'" + text +
                         "': expected DEPLOYMENT, DEPLOYMENT/GROUP or DEPLOYMENT/GROUP/ID");
  s.deployment = parts[0];
  if (parts.size() > 1) s.group = parts[1];
  if (parts.size() > 2) s.id = parts[2];
  return s;
}

Result<std::vector<Target>> resolve_bosh_targets(const BoshSelector& sel,
                                                 const BoshEnvironment& env, uint16_t port,
                                                 bool tls,
                                                 std::chrono::steady_clock::duration timeout) {
  if (env.environment.empty())
    return invalid_input("BOSH_ENVIRONMENT is not set (the Director's URL or address)");
  auto director = parse_endpoint(env.environment, kBoshDirectorPort, true);
  if (!director) return director.error().context("BOSH_ENVIRONMENT");
  auto ctx = make_tls_context({env.ca_cert, "", ""});
  if (!ctx) return ctx.error().context("BOSH_CA_CERT");

  auto info = fetch_json(*director, {"GET", director->path + "/info", {}, ""}, *ctx, timeout);
  if (!info) return info.error().context("BOSH Director");
  auto auth = director_authorization(*info, env, *ctx, timeout);
  if (!auth) return auth.error();

  const std::string vms_path =
      director->path + "/deployments/" + url_encode(sel.deployment) + "/vms";
  auto vms =
      fetch_json(*director, {"GET", vms_path, {{"Authorization", *auth}}, ""}, *ctx, timeout);
  if (!vms) return vms.error().context("BOSH Director");
  return selected_instances(*vms, sel, port, tls);
}

}  // namespace xcap::stream
