// The pieces the command lines' parsers share (capture_options, stream_options): option
// declarations with their --help text, whole-number values, the positional words, --help.
#pragma once

#include <boost/program_options.hpp>
#include <charconv>
#include <initializer_list>
#include <string>
#include <vector>

#include "common/result.h"

namespace xcap::cli {

namespace po = boost::program_options;

// One option and its --help text.
void add(po::options_description& d, const char* names, const po::value_semantic* value,
         const std::string& help);

// A value stored in *to, shown in --help as NAME.
template <typename T>
po::typed_value<T>* arg(T* to, const char* name) {
  return po::value(to)->value_name(name);
}

// A help text ending in a number: text("default ", 4096).
std::string text(const std::string& what, auto value) {
  return what + std::to_string(value);
}

// Whole-string unsigned parse; the error names the flag.
template <typename T>
Result<T> parse_uint(const std::string& flag, const std::string& s, T min, T max) {
  T v{};
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size() || v < min || v > max)
    return invalid_input(flag + " '" + s + "': expected a whole number from " +
                         std::to_string(min) + " to " + std::to_string(max));
  return v;
}

// Parses args against desc and stores the result in each of into; the words that are not
// options (tcpdump's filter words, stream targets) go to *rest, as the hidden option
// rest_name. Stored here: the parse refers to the option list it was made with. Throws
// po::error, as boost does.
void store_command_line(const std::vector<std::string>& args, const po::options_description& desc,
                        const char* rest_name, std::vector<std::string>* rest,
                        std::initializer_list<po::variables_map*> into);

// --help's text: the usage, then every option.
std::string help_text(const char* usage, const po::options_description& desc);

// -w and --format of a command that writes one merged capture (xcap stream, xcap archive
// get): pcapng or pcap; no -w, or -w -, is standard output, refused when it is a terminal
// (a capture is not for one). write_given: -w was on the command line (an empty value is an
// error then).
struct MergedOutputFlags {
  std::string path;  // "-": standard output
  bool pcapng = true;
};
Result<MergedOutputFlags> parse_merged_output(const std::string& format, const std::string& write,
                                              bool write_given, bool stdout_is_terminal);

}  // namespace xcap::cli
