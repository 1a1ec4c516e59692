// The tools a user reads captures with (tshark, tcpdump, capinfos), run on a file for a test.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace xcap::test {

// `tshark args...`: its output lines (tshark's root warning left out). Fails the current test
// (non-fatally) when tshark does not exit 0.
std::vector<std::string> tshark(const std::vector<std::string>& args);

// How many packets a tool reads from a whole file, or nullopt (with its output in *why) when it
// stops with an error.
std::optional<uint64_t> tcpdump_count(const std::string& path, std::string* why);
std::optional<uint64_t> tshark_count(const std::string& path, std::string* why);
std::optional<uint64_t> capinfos_count(const std::string& path, std::string* why);

}  // namespace xcap::test
