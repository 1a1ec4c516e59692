// Helpers for tests that run the real xcap binary: start a capture and wait until its
// sockets are bound, parse the final stats line and the -v accounting line.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.h"

namespace xcap::test {

struct StatsLine {
  uint64_t captured = 0, dropped = 0, kernel = 0, ring = 0, filter = 0, writer = 0, decap = 0,
           too_big = 0;
};
std::optional<StatsLine> parse_stats_line(const std::string& stderr_text);

struct Accounting {
  uint64_t seen = 0, passed = 0, redirected = 0, no_socket = 0, malformed = 0,
           xdp_filter_excluded = 0, delivered = 0, over_count = 0, xdp_too_big = 0,
           not_ready = 0;
  // Every frame the XDP program steered to capture: captured + dropped must equal this.
  uint64_t steered() const { return redirected + no_socket + xdp_filter_excluded + xdp_too_big; }
};
std::optional<Accounting> parse_accounting(const std::string& stderr_text);

// Starts `xcap capture -i IFACE args...` and waits until it reports it is capturing.
// Returns nullptr (with the output in *why) if it did not get there within timeout_s.
std::unique_ptr<Subprocess> start_capture(const std::string& iface,
                                          const std::vector<std::string>& args, std::string* why,
                                          const std::string& stdout_path = "",
                                          double timeout_s = 30);

class Lab;

// One capture of a replay: `xcap capture -i <lab's capture end> args...` is started, the pcap
// file is sent through the lab by xcap-gen at rate frames/s, then the capture is stopped with
// SIGINT. why is non-empty when a step failed (the capture did not start or exit 0, the sender
// failed); stats is the parsed stats line.
struct ReplayCapture {
  std::string why, err;  // err: xcap's stderr
  std::optional<StatsLine> stats;
};
ReplayCapture capture_replay(const Lab& lab, const std::vector<std::string>& args,
                             const std::string& pcap, const std::string& rate = "50000");

// HTTP GET http://127.0.0.1:port/path; returns the body ("" on failure).
std::string http_get(int port, const std::string& path);
// The same to a numeric IPv4 or IPv6 host ("198.18.0.2", "::1").
std::string http_get(const std::string& host, int port, const std::string& path);
// A TCP port on 127.0.0.1 free right now.
int free_port();

}  // namespace xcap::test
