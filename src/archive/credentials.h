// AWS credentials as every S3 tool finds them: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY
// (and AWS_SESSION_TOKEN) from the environment; else the profile AWS_PROFILE (default
// "default") of the shared credentials file, AWS_SHARED_CREDENTIALS_FILE or
// ~/.aws/credentials. The archiver loads them again before every request, so rotated keys in
// the file take effect without a restart.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace xcap::archive {

struct Credentials {
  std::string access_key;
  std::string secret_key;
  std::string session_token;  // empty unless temporary credentials
  std::string origin;         // "environment" or "PATH [profile]", for messages
};

// The environment first, then the shared file. NotFound (with a message naming both places)
// when neither has a key and a secret.
Result<Credentials> load_credentials();

// One profile of a shared credentials file's text (INI: [profile] then key = value lines).
Result<Credentials> parse_credentials_file(std::string_view text, std::string_view profile);

}  // namespace xcap::archive
