// Retry waits (src/archive/backoff.h) and credentials (credentials.h) of the archive.
#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "archive/backoff.h"
#include "archive/credentials.h"
#include "common/temp_dir.h"

namespace xcap::archive {
namespace {

TEST(ArchiveBackoff, ExponentialCeilingWithFullJitter) {
  Backoff b(0.5, 30, 42);
  EXPECT_DOUBLE_EQ(b.ceiling(0), 0.5);
  EXPECT_DOUBLE_EQ(b.ceiling(1), 1.0);
  EXPECT_DOUBLE_EQ(b.ceiling(5), 16.0);
  EXPECT_DOUBLE_EQ(b.ceiling(6), 30.0);
  EXPECT_DOUBLE_EQ(b.ceiling(1000), 30.0);
  double sum = 0, lo = 1e9, hi = 0;
  for (int i = 0; i < 2000; i++) {
    b.reset();
    for (int k = 0; k < 8; k++) b.next();  // attempt 8: ceiling 30
    const double w = b.next();
    EXPECT_GE(w, 0);
    EXPECT_LE(w, 30);
    sum += w, lo = std::min(lo, w), hi = std::max(hi, w);
  }
  EXPECT_NEAR(sum / 2000, 15, 1.5);  // uniform over [0, 30]: jittered, not fixed
  EXPECT_LT(lo, 1);
  EXPECT_GT(hi, 29);
  EXPECT_EQ(b.attempt(), 9u);
  b.reset();
  EXPECT_LE(b.next(), 0.5);
}

TEST(ArchiveCredentials, SharedFileProfiles) {
  const char* text =
      "# comment\n[default]\naws_access_key_id = AKD\naws_secret_access_key=SKD\r\n\n"
      "[other]\n  aws_access_key_id=AKO  \naws_secret_access_key = SKO\naws_session_token = T\n"
      "[broken]\naws_access_key_id = X\n";
  auto d = parse_credentials_file(text, "default");
  ASSERT_TRUE(d) << d.error().message;
  EXPECT_EQ(d->access_key, "AKD");
  EXPECT_EQ(d->secret_key, "SKD");
  EXPECT_EQ(d->session_token, "");
  auto o = parse_credentials_file(text, "other");
  ASSERT_TRUE(o);
  EXPECT_EQ(o->access_key, "AKO");
  EXPECT_EQ(o->session_token, "T");
  auto b = parse_credentials_file(text, "broken");
  ASSERT_FALSE(b);
  EXPECT_NE(b.error().message.find("aws_secret_access_key"), std::string::npos);
  EXPECT_FALSE(parse_credentials_file(text, "missing"));
}

// The environment wins; else AWS_SHARED_CREDENTIALS_FILE and AWS_PROFILE; else a message that
// names both ways. Restores the environment it changed.
TEST(ArchiveCredentials, EnvironmentThenSharedFile) {
  test::TempDir dir;
  { std::ofstream(dir / "creds") << "[p2]\naws_access_key_id=FK\naws_secret_access_key=FS\n"; }
  const char* names[] = {"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
                         "AWS_SHARED_CREDENTIALS_FILE", "AWS_PROFILE"};
  std::vector<std::pair<std::string, std::optional<std::string>>> saved;
  for (const char* n : names) {
    const char* v = getenv(n);
    saved.emplace_back(n, v ? std::optional<std::string>(v) : std::nullopt);
    unsetenv(n);
  }
  setenv("AWS_SHARED_CREDENTIALS_FILE", (dir / "creds").c_str(), 1);
  setenv("AWS_PROFILE", "p2", 1);
  auto f = load_credentials();
  setenv("AWS_ACCESS_KEY_ID", "EK", 1);
  setenv("AWS_SECRET_ACCESS_KEY", "ES", 1);
  auto e = load_credentials();
  unsetenv("AWS_ACCESS_KEY_ID");
  setenv("AWS_SHARED_CREDENTIALS_FILE", (dir / "none").c_str(), 1);
  auto none = load_credentials();
  for (const auto& [n, v] : saved)
    if (v)
      setenv(n.c_str(), v->c_str(), 1);
    else
      unsetenv(n.c_str());
  ASSERT_TRUE(f) << f.error().message;
  EXPECT_EQ(f->access_key, "FK");
  EXPECT_EQ(f->origin, dir / "creds [p2]");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->access_key, "EK");
  EXPECT_EQ(e->origin, "environment");
  ASSERT_FALSE(none);
  EXPECT_NE(none.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
  EXPECT_NE(none.error().message.find(dir / "none"), std::string::npos);
}

}  // namespace
}  // namespace xcap::archive
