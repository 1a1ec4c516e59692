// TempDir: a fresh scratch directory (mkdtemp under /tmp) removed with everything in it at
// scope exit.
#pragma once

#include <string>

namespace xcap::test {

class TempDir {
 public:
  TempDir();  // throws std::runtime_error when mkdtemp fails
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

}  // namespace xcap::test
