// Error (common/error.h): kinds, errno formatting, context and exit codes; and how the CLI
// puts a flag in front of a lower layer's error.
#include "common/error.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>

#include "cli/capture_options.h"
#include "common/result.h"
#include "common/temp_dir.h"
#include "metrics/metrics_server.h"
#include "sink/file/file_ring.h"

namespace xcap {
namespace {

TEST(Error, NamedConstructorsSetTheKindAndNoErrno) {
  const Error bad = invalid_input("'x': expected a number");
  EXPECT_EQ(bad.kind, ErrorKind::InvalidInput);
  EXPECT_EQ(bad.errnum, 0);
  EXPECT_EQ(bad.message, "'x': expected a number");

  EXPECT_EQ(unsupported("replay").kind, ErrorKind::Unsupported);
  const Error busy = make_error(ErrorKind::Busy, "interface eth0 is already in use");
  EXPECT_EQ(busy.kind, ErrorKind::Busy);
  EXPECT_EQ(busy.errnum, 0);
  EXPECT_EQ(busy.message, "interface eth0 is already in use");
}

TEST(Error, ErrnoErrorFormatsStrerrorOnceAtTheEnd) {
  const Error e = errno_error(EACCES, "cannot open /x");
  EXPECT_EQ(e.errnum, EACCES);
  EXPECT_EQ(e.kind, ErrorKind::System);
  EXPECT_EQ(e.message, std::string("cannot open /x: ") + std::strerror(EACCES));
}

TEST(Error, ErrnoErrorReadsErrnoWhenNotGiven) {
  errno = ENOENT;
  const Error e = errno_error("cannot open /nowhere");
  EXPECT_EQ(e.errnum, ENOENT);
  EXPECT_EQ(e.kind, ErrorKind::NotFound);
  EXPECT_EQ(e.message, "cannot open /nowhere: No such file or directory");
}

TEST(Error, KindFollowsTheErrno) {
  EXPECT_EQ(kind_of_errno(ENOENT), ErrorKind::NotFound);
  EXPECT_EQ(kind_of_errno(ENODEV), ErrorKind::NotFound);
  EXPECT_EQ(kind_of_errno(EEXIST), ErrorKind::Exists);
  EXPECT_EQ(kind_of_errno(EBUSY), ErrorKind::Busy);
  EXPECT_EQ(kind_of_errno(EADDRINUSE), ErrorKind::Busy);
  EXPECT_EQ(kind_of_errno(EPERM), ErrorKind::System);
  EXPECT_EQ(kind_of_errno(ENOSPC), ErrorKind::System);
  // Not a user's mistake by itself: a refused operation is a runtime failure (exit 1).
  EXPECT_EQ(kind_of_errno(EOPNOTSUPP), ErrorKind::System);
}

TEST(Error, ContextGoesInFrontAndKeepsKindAndErrno) {
  const Error inner = errno_error(ENOSPC, "writing /d/x.pcap.part");
  const Error outer = inner.context("stopping the capture");
  EXPECT_EQ(outer.message, "stopping the capture: writing /d/x.pcap.part: No space left on device");
  EXPECT_EQ(outer.kind, ErrorKind::System);
  EXPECT_EQ(outer.errnum, ENOSPC);
  EXPECT_EQ(inner.message, "writing /d/x.pcap.part: No space left on device");  // unchanged
  EXPECT_EQ(invalid_input("b").context("a").context("top").message, "top: a: b");
}

TEST(Error, ExitCodeIsTwoForBadInputOneForRuntime) {
  EXPECT_EQ(exit_code(invalid_input("x")), 2);
  EXPECT_EQ(exit_code(unsupported("x")), 2);
  EXPECT_EQ(exit_code(make_error(ErrorKind::NotFound, "x")), 1);
  EXPECT_EQ(exit_code(make_error(ErrorKind::Exists, "x")), 1);
  EXPECT_EQ(exit_code(make_error(ErrorKind::Busy, "x")), 1);
  EXPECT_EQ(exit_code(errno_error(EIO, "x")), 1);
  // Context does not turn bad input into a runtime failure, or back.
  EXPECT_EQ(exit_code(invalid_input("x").context("-w /d")), 2);
  EXPECT_EQ(exit_code(errno_error(ENOENT, "x").context("--config")), 1);
}

TEST(Result, CarriesTheErrorWhole) {
  auto f = []() -> Result<int> { return errno_error(EBUSY, "binding queue 0"); };
  Result<int> r = f();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().kind, ErrorKind::Busy);
  EXPECT_EQ(r.error().errnum, EBUSY);
  Result<void> v = r.error().context("starting");
  ASSERT_FALSE(v);
  EXPECT_EQ(v.error().message.rfind("starting: binding queue 0: ", 0), 0u) << v.error().message;
  EXPECT_TRUE(ok());
}

// Lower layers speak about the values they were given; the CLI names the flag.
TEST(FlagError, PutsTheFlagInFrontOfTheValue) {
  auto addr = metrics::parse_listen_address("nowhere");
  ASSERT_FALSE(addr);
  EXPECT_EQ(addr.error().kind, ErrorKind::InvalidInput);
  EXPECT_EQ(addr.error().message.find("--metrics"), std::string::npos) << addr.error().message;
  const Error e = cli::flag_error("--metrics", addr.error());
  EXPECT_EQ(e.message.rfind("--metrics 'nowhere': expected ADDR:PORT", 0), 0u) << e.message;
  EXPECT_EQ(e.kind, ErrorKind::InvalidInput);
  EXPECT_EQ(exit_code(e), 2);
}

TEST(FlagError, FileRingErrorsNameThePathAndTheCliNamesTheFlag) {
  test::TempDir dir;
  sink::FileRingConfig cfg;
  cfg.path = dir.path();
  auto ring = sink::FileRing::open(cfg, 1);
  ASSERT_FALSE(ring);
  EXPECT_EQ(ring.error().message, dir.path() + ": is a directory");
  const Error e = cli::flag_error("-w", ring.error());
  EXPECT_EQ(e.message, "-w " + dir.path() + ": is a directory");
  EXPECT_EQ(exit_code(e), 2);

  cfg.path = dir / "missing/x.pcap";
  ring = sink::FileRing::open(cfg, 1);
  ASSERT_FALSE(ring);
  EXPECT_EQ(ring.error().message.rfind(cfg.path + ": cannot create ", 0), 0u)
      << ring.error().message;
  EXPECT_EQ(ring.error().kind, ErrorKind::NotFound);
  EXPECT_EQ(exit_code(cli::flag_error("-w", ring.error())), 1);  // a runtime failure
}

}  // namespace
}  // namespace xcap
