#include "common/log.h"

#include <atomic>

namespace xcap {
namespace {
std::atomic<LogLevel> g_level{LogLevel::Info};

void vlog(const char* fmt, va_list ap) {
  char line[1024];
  vsnprintf(line, sizeof line, fmt, ap);
  fprintf(stderr, "xcap: %s\n", line);
}
}  // namespace

LogLevel log_level() {
  return g_level.load(std::memory_order_relaxed);
}
void set_log_level(LogLevel level) {
  g_level.store(level, std::memory_order_relaxed);
}

#define XCAP_LOG_AT(min)           \
  if (log_level() < (min)) return; \
  va_list ap;                      \
  va_start(ap, fmt);               \
  vlog(fmt, ap);                   \
  va_end(ap)

void log_info(const char* fmt, ...) {
  XCAP_LOG_AT(LogLevel::Info);
}
void log_debug(const char* fmt, ...) {
  XCAP_LOG_AT(LogLevel::Debug);
}
void log_error(const char* fmt, ...) {
  XCAP_LOG_AT(LogLevel::Quiet);
}

}  // namespace xcap
