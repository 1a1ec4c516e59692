// S3Store: the archive tests' object store, started by the test: tests/s3store/store.js
// (s3rver behind a front that verifies SigV4 with AWS's signer and answers 403 to a bad
// signature) on a loopback port, with a temporary directory. stop() and start() keep the port
// and the data, for store outages. The Debian awscli talks to it with the good credentials.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/subprocess.h"
#include "common/temp_dir.h"

namespace xcap::test {

// The credentials the store accepts.
inline constexpr const char* kStoreKey = "S3RVER";
inline constexpr const char* kStoreSecret = "S3RVER";

struct StoredObject {
  std::string key;
  uint64_t size = 0;
};

class S3Store {
 public:
  // Starts with these buckets; delay_ms holds every request that long (a slow store). Throws
  // std::runtime_error when it does not come up (tools/setup installs its npm packages).
  explicit S3Store(std::vector<std::string> buckets, int delay_ms = 0);
  ~S3Store();
  S3Store(const S3Store&) = delete;
  S3Store& operator=(const S3Store&) = delete;

  void stop();   // SIGTERM, waited for
  void start();  // again, same port and data
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(port_); }
  std::string log() const;  // the front's refusals, one line each (its stderr)

  // /usr/bin/aws --endpoint-url ENDPOINT args..., with the good credentials.
  RunResult aws(const std::vector<std::string>& args, double timeout_s = 120) const;
  // Every object under s3://bucket/prefix (aws s3 ls --recursive), sorted by key.
  std::vector<StoredObject> list(const std::string& bucket, const std::string& prefix = "") const;
  // aws s3 cp s3://bucket/key to path; true on success.
  bool download(const std::string& bucket, const std::string& key, const std::string& path) const;

 private:
  std::vector<std::string> buckets_;
  int delay_ms_;
  int port_;
  TempDir data_;
  std::unique_ptr<Subprocess> proc_;
  std::string log_so_far_;
};

// argv that runs argv with these extra environment variables (through /usr/bin/env).
std::vector<std::string> with_env(const std::vector<std::string>& env,
                                  const std::vector<std::string>& argv);

}  // namespace xcap::test
