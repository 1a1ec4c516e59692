#include "common/temp_dir.h"

#include <stdlib.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace xcap::test {

TempDir::TempDir() {
  char tmpl[] = "/tmp/xcap-test-XXXXXX";
  if (!mkdtemp(tmpl)) throw std::runtime_error(std::string("mkdtemp failed: ") + strerror(errno));
  path_ = tmpl;
}

TempDir::~TempDir() {
  std::error_code ec;  // a destructor must not throw; what cannot be removed stays behind
  std::filesystem::remove_all(path_, ec);
}

}  // namespace xcap::test
