#include "common/token_file.h"

#include <fstream>

namespace xcap {

Result<std::string> read_token_file(const std::string& path, std::string_view flag) {
  const std::string named = std::string(flag) + " '" + path + "'";
  std::ifstream in(path);
  if (!in) {
    Error e = errno_error(named + ": cannot read");
    e.kind = ErrorKind::InvalidInput;
    return e;
  }
  std::string line;
  std::getline(in, line);
  const auto b = line.find_first_not_of(" \t\r"), e = line.find_last_not_of(" \t\r");
  if (b == std::string::npos) return invalid_input(named + ": empty first line");
  return line.substr(b, e - b + 1);
}

}  // namespace xcap
