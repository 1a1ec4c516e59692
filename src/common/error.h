// Error: the one error value of xcap. It says what failed in words for the operator (message),
// what kind of failure it was (kind, for code that decides by it and for the exit status), and
// the errno of the failed call where there was one (errnum). strerror is formatted here only.
//
//   return errno_error("cannot open " + path);             // after a failed call, errno set
//   return errno_error(-rc, "cannot bind queue 3");        // a library's -errno return
//   return invalid_input("'" + s + "': port must be 0-65535");
//   return r.error().context(cfg.path);                    // the caller says what it was at
//   if (e.kind == ErrorKind::Exists) ...                   // decide by kind, not by text
//
// Lower layers say what went wrong with the things they were given (a path, an address), and
// never name a command-line flag; the CLI puts the flag in front (cli::flag_error). Not for the
// packet path: building an Error allocates.
#pragma once

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>
#include <utility>

namespace xcap {

enum class ErrorKind {
  InvalidInput,  // a value the user gave is wrong: a flag, a config line, a filter, an address
  Unsupported,   // asks for what this version cannot do
  NotFound,      // the named thing is not there (ENOENT, ENODEV)
  Exists,        // the name is taken (EEXIST)
  Busy,          // someone else holds it: an interface, a port, a queue (EBUSY, EADDRINUSE)
  System,        // any other failed call or resource; errnum says which when known
};

struct Error {
  ErrorKind kind = ErrorKind::System;
  int errnum = 0;       // errno of the failed call; 0 when there was none
  std::string message;  // complete, ready to print: context first, strerror(errnum) last

  // The same error with "what: " in front: what the caller was doing, or the flag behind it.
  [[nodiscard]] Error context(std::string_view what) const {
    return Error{kind, errnum, std::string(what) + ": " + message};
  }
};

// An error of the given kind, without errno.
inline Error make_error(ErrorKind kind, std::string message) {
  return Error{kind, 0, std::move(message)};
}
inline Error invalid_input(std::string message) {
  return make_error(ErrorKind::InvalidInput, std::move(message));
}
inline Error unsupported(std::string message) {
  return make_error(ErrorKind::Unsupported, std::move(message));
}

// ENOENT/ENODEV: NotFound, EEXIST: Exists, EBUSY/EADDRINUSE: Busy, anything else: System.
inline ErrorKind kind_of_errno(int err) {
  switch (err) {
    case ENOENT:
    case ENODEV:
      return ErrorKind::NotFound;
    case EEXIST:
      return ErrorKind::Exists;
    case EBUSY:
    case EADDRINUSE:
      return ErrorKind::Busy;
    default:
      return ErrorKind::System;
  }
}

// After a failed call: "<what>: <strerror(err)>", kind from the errno. The one place errno
// becomes text (strerror_r: safe on any thread, unlike strerror).
inline Error errno_error(int err, std::string what) {
  char buf[128];
  const char* text = strerror_r(err, buf, sizeof buf);  // GNU: the text, in buf or static
  return Error{kind_of_errno(err), err, std::move(what) + ": " + text};
}
// The same, reading errno: call it before anything else can change errno.
inline Error errno_error(std::string what) {
  return errno_error(errno, std::move(what));
}

// The process exit status for an error: 2 for bad input (the user can fix the command line:
// InvalidInput, Unsupported), 1 for everything that failed while running.
inline int exit_code(const Error& error) {
  switch (error.kind) {
    case ErrorKind::InvalidInput:
    case ErrorKind::Unsupported:
      return 2;
    case ErrorKind::NotFound:
    case ErrorKind::Exists:
    case ErrorKind::Busy:
    case ErrorKind::System:
      return 1;
  }
  return 1;
}

}  // namespace xcap
