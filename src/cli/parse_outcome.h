// What xcap capture, serve and stream do when parsing their command line gave nothing to run.
#pragma once

#include <cstdio>
#include <string>

namespace xcap::cli {

// Prints the help text (stdout, exit status 0) or the error ("xcap stream: MESSAGE" on
// stderr) and returns the exit status.
inline int print_parse_outcome(const char* command, const std::string& message, int exit_code) {
  if (exit_code == 0) {
    fputs(message.c_str(), stdout);
    return 0;
  }
  fprintf(stderr, "%s: %s\n", command, message.c_str());
  return exit_code;
}

}  // namespace xcap::cli
