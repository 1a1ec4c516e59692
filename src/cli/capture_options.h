// Parsing `xcap capture`'s command line (and --config file) into CaptureOptions, checked flag
// by flag before anything else happens. A bad flag yields a message naming it (exit status 2).
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "pipeline/capture_options.h"

namespace xcap::cli {

using pipeline::CaptureOptions;
using pipeline::ServerOptions;

// Outcome of parsing: options to run with, or text to print and an exit status.
struct ParsedCapture {
  std::optional<CaptureOptions> options;  // for the first interface
  std::vector<std::string> interfaces;    // every -i (xcap serve takes several)
  std::string message;                    // help text (exit 0) or the error's message
  int exit_code = 0;                      // 0 after --help, else exit_code(error): 2, bad input
};

// An error about a flag's value, in the command line's words. Lower layers start such
// messages with the value they were given ("PATH: cannot create ...", "'ADDR': expected ...");
// this puts the flag in front of it: "-w PATH: cannot create ...".
Error flag_error(std::string_view flag, const Error& e);

// args excludes "xcap" and "capture". Reads the command line (and --config) only: the
// interface is looked up by resolve_capture_environment (capture_environment.h).
ParsedCapture parse_capture_args(const std::vector<std::string>& args);

// The same flags for another command: xcap serve has -i repeatable and --listen required, and
// refuses the file, filter and limit flags (each client brings its own).
enum class Command { Capture, Serve };
ParsedCapture parse_command_args(const std::vector<std::string>& args, Command command);

}  // namespace xcap::cli
