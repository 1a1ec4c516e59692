#include "common/s3_store.h"

#include <signal.h>

#include <algorithm>
#include <filesystem>
#include <sstream>
#include <stdexcept>

#include "common/lab.h"
#include "common/wait_until.h"
#include "common/xcap_run.h"

namespace xcap::test {

std::vector<std::string> with_env(const std::vector<std::string>& env,
                                  const std::vector<std::string>& argv) {
  std::vector<std::string> out{"/usr/bin/env"};
  out.insert(out.end(), env.begin(), env.end());
  out.insert(out.end(), argv.begin(), argv.end());
  return out;
}

S3Store::S3Store(std::vector<std::string> buckets, int delay_ms)
    : buckets_(std::move(buckets)), delay_ms_(delay_ms), port_(free_port()) {
  if (!std::filesystem::exists(source_path("tests/s3store/node_modules/s3rver")))
    throw std::runtime_error("tests/s3store/node_modules is missing: run tools/setup");
  start();
}

S3Store::~S3Store() {
  stop();
}

void S3Store::start() {
  // s3rver makes its continuation tokens (any listing longer than a page) with DES, which
  // Node's OpenSSL 3 has only in its legacy provider.
  std::vector<std::string> argv{"/usr/bin/node",
                                "--openssl-legacy-provider",
                                source_path("tests/s3store/store.js"),
                                "--port",
                                std::to_string(port_),
                                "--dir",
                                data_.path(),
                                "--delay",
                                std::to_string(delay_ms_)};
  for (const std::string& b : buckets_) argv.insert(argv.end(), {"--bucket", b});
  proc_ = std::make_unique<Subprocess>(argv);
  const bool up = wait_until([&] { return proc_->out().find("ready") != std::string::npos; },
                             std::chrono::seconds(30), std::chrono::milliseconds(20));
  if (!up) throw std::runtime_error("the S3 store did not start: " + proc_->err());
}

void S3Store::stop() {
  if (!proc_) return;
  proc_->signal(SIGTERM);
  proc_->wait(10);
  log_so_far_ += proc_->err();
  proc_.reset();
}

std::string S3Store::log() const {
  return log_so_far_ + (proc_ ? proc_->err() : "");
}

RunResult S3Store::aws(const std::vector<std::string>& args, double timeout_s) const {
  std::vector<std::string> argv{"/usr/bin/aws", "--endpoint-url", endpoint()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(with_env({std::string("AWS_ACCESS_KEY_ID=") + kStoreKey,
                       std::string("AWS_SECRET_ACCESS_KEY=") + kStoreSecret,
                       "AWS_DEFAULT_REGION=us-east-1", "AWS_EC2_METADATA_DISABLED=true",
                       "AWS_SHARED_CREDENTIALS_FILE=/nonexistent", "AWS_CONFIG_FILE=/nonexistent"},
                      argv),
             timeout_s);
}

std::vector<StoredObject> S3Store::list(const std::string& bucket,
                                        const std::string& prefix) const {
  RunResult r = aws({"s3", "ls", "--recursive", "s3://" + bucket + "/" + prefix});
  std::vector<StoredObject> out;
  std::istringstream in(r.output);
  std::string date, time, line;
  StoredObject o;
  while (std::getline(in, line)) {
    std::istringstream l(line);
    if (l >> date >> time >> o.size >> o.key) out.push_back(o);
  }
  std::sort(out.begin(), out.end(), [](auto& a, auto& b) { return a.key < b.key; });
  return out;
}

bool S3Store::download(const std::string& bucket, const std::string& key,
                       const std::string& path) const {
  return aws({"s3", "cp", "--only-show-errors", "s3://" + bucket + "/" + key, path}).status == 0;
}

}  // namespace xcap::test
