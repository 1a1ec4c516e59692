#include "metrics/listen_socket.h"

#include <boost/asio/ip/v6_only.hpp>

#include "metrics/metrics_server.h"

namespace xcap::metrics {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

// The usual failures in words; the rest in Asio's.
Error listen_error(const boost::system::error_code& ec, const ListenAddress& at) {
  // Asio's error codes on Linux are errno values (system category).
  const int err = ec.category() == boost::system::system_category() ? ec.value() : 0;
  Error e{err ? kind_of_errno(err) : ErrorKind::System, err, ec.message()};
  if (ec == asio::error::address_in_use)
    e.message = "port " + std::to_string(at.port) + " on " + at.host +
                " is already in use by another program; pick another port";
  else if (ec == boost::system::errc::address_not_available)
    e.message = at.host + " is not an address of this host";
  else if (ec == asio::error::access_denied)
    e.message = "permission denied (ports below 1024 need CAP_NET_BIND_SERVICE)";
  return e.context(at.text + ": cannot listen");
}

}  // namespace

Result<ListenAddress> split_listen_address(const std::string& addr) {
  auto norm = parse_listen_address(addr);
  if (!norm) return norm.error();
  ListenAddress at;
  at.text = *norm;
  const auto colon = norm->rfind(':');
  at.host = norm->substr(0, colon);
  if (at.host.front() == '[') at.host = at.host.substr(1, at.host.size() - 2);
  at.port = uint16_t(std::stoi(norm->substr(colon + 1)));
  at.ip = asio::ip::make_address(at.host);
  return at;
}

Result<tcp::endpoint> listen_on(tcp::acceptor& a, const ListenAddress& at, bool v6_only) {
  boost::system::error_code ec;
  const tcp::endpoint ep(at.ip, at.port);
  tcp::endpoint bound;
  a.open(ep.protocol(), ec);
  if (!ec) a.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec && v6_only && at.ip.is_v6()) a.set_option(asio::ip::v6_only(true), ec);
  if (!ec) a.bind(ep, ec);
  if (!ec) a.listen(asio::socket_base::max_listen_connections, ec);
  if (!ec) bound = a.local_endpoint(ec);
  if (ec) return listen_error(ec, at);
  return bound;
}

}  // namespace xcap::metrics
