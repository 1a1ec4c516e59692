// The listening socket of xcap's HTTP servers (--metrics, and --listen's streaming server):
// the address split into its parts, then open, bind and listen, with the failures in words.
#pragma once

#include <boost/asio/ip/tcp.hpp>
#include <cstdint>
#include <string>

#include "common/result.h"

namespace xcap::metrics {

// An address parse_listen_address accepted, in parts: "[::1]:9100" -> "::1", 9100.
struct ListenAddress {
  std::string text;  // as parse_listen_address normalised it; errors start with it
  std::string host;  // without brackets
  boost::asio::ip::address ip;
  uint16_t port = 0;
};

// parse_listen_address(addr), split; its error as it is.
Result<ListenAddress> split_listen_address(const std::string& addr);

// Opens a (SO_REUSEADDR), binds it to at and listens; v6_only: an IPv6 address does not take
// IPv4 too. Returns the bound endpoint (port 0 picks one). Errors start with
// "ADDR: cannot listen: ", a port in use (kind Busy) and a foreign address said in words.
Result<boost::asio::ip::tcp::endpoint> listen_on(boost::asio::ip::tcp::acceptor& a,
                                                 const ListenAddress& at, bool v6_only);

}  // namespace xcap::metrics
