// Helpers for tests that run the real xcap binary: start a capture and wait until its
// sockets are bound, read its machine-readable output (the --stats-json line, /metrics).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/subprocess.h"

namespace xcap::test {

// The --stats-json line's numbers: the stats line's, then the -v accounting line's.
struct Stats {
  uint64_t captured = 0, dropped = 0, kernel = 0, ring = 0, filter_excluded = 0, writer = 0,
           decap_error = 0, too_big = 0;
  uint64_t xdp_seen = 0, xdp_passed = 0, xdp_redirected = 0, xdp_no_socket = 0, xdp_malformed = 0,
           xdp_filter_excluded = 0, delivered = 0, over_count = 0, xdp_too_big = 0, not_ready = 0;
  // Every frame the XDP program steered to capture: captured + dropped must equal this.
  uint64_t steered() const {
    return xdp_redirected + xdp_no_socket + xdp_filter_excluded + xdp_too_big;
  }
};
// The last --stats-json line in xcap's stderr; nullopt when there is none, or it lacks a key.
std::optional<Stats> parse_stats_json(const std::string& stderr_text);
// A flat JSON object of "key":number pairs, as --stats-json prints it; nullopt if it is not.
std::optional<std::map<std::string, uint64_t>> parse_flat_json(const std::string& line);

// The human stats line, for the one test of its exact format (a contract: scripts read it).
struct StatsLine {
  uint64_t captured = 0, dropped = 0, kernel = 0, ring = 0, filter = 0, writer = 0, decap = 0,
           too_big = 0;
};
std::optional<StatsLine> parse_stats_line(const std::string& stderr_text);

// A Prometheus text exposition: each sample's series, exactly as served
// (`xcap_rx_packets_total{iface="x",queue="0"}`), to its value.
using Scrape = std::map<std::string, double>;
Scrape parse_metrics(const std::string& body);
// GET /metrics on 127.0.0.1:port, parsed; empty when nothing answered.
Scrape scrape_metrics(int port);
// One series' value as a count; nullopt when the scrape lacks it.
std::optional<uint64_t> metric(const Scrape& s, const std::string& series);

// Starts `xcap capture -i IFACE args... --stats-json` and waits until it reports it is
// capturing.
// Returns nullptr (with the output in *why) if it did not get there within timeout_s.
std::unique_ptr<Subprocess> start_capture(const std::string& iface,
                                          const std::vector<std::string>& args, std::string* why,
                                          const std::string& stdout_path = "",
                                          double timeout_s = 30);

class Lab;

// One capture of a replay: `xcap capture -i <lab's capture end> args...` is started, the pcap
// file is sent through the lab by xcap-gen at rate frames/s, then the capture is stopped with
// SIGINT. why is non-empty when a step failed (the capture did not start or exit 0, the sender
// failed); stats is the parsed --stats-json line.
struct ReplayCapture {
  std::string why, err;  // err: xcap's stderr
  std::optional<Stats> stats;
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
