// The archive's flags of `xcap capture` (src/cli/archive_options.h): defaults, every flag, and
// bad input named by its flag (exit 2).
#include <gtest/gtest.h>

#include "cli/capture_options.h"

#include "archive/object_name.h"

namespace xcap::cli {
namespace {

ParsedCapture parse(std::vector<std::string> extra) {
  std::vector<std::string> args{"-i", "lo", "-w", "/tmp/xcarc/m.pcap", "-C", "10"};
  args.insert(args.end(), extra.begin(), extra.end());
  return parse_capture_args(args);
}

TEST(ArchiveOptions, Defaults) {
  ParsedCapture r = parse({"--archive", "s3://bkt/vtap/"});
  ASSERT_TRUE(r.options) << r.message;
  const archive::ArchiveConfig& a = r.options->archive;
  EXPECT_TRUE(a.uploads());
  EXPECT_EQ(a.bucket, "bkt");
  EXPECT_EQ(a.prefix, "vtap");
  EXPECT_EQ(a.endpoint, "https://s3.us-east-1.amazonaws.com");
  EXPECT_EQ(a.region, "us-east-1");
  EXPECT_FALSE(a.path_style);
  EXPECT_EQ(a.compress, archive::Compression::Zstd);
  EXPECT_EQ(a.part_size, 16u << 20);
  EXPECT_FALSE(a.keep_local);
  EXPECT_EQ(a.spool_max, 0u);
  EXPECT_DOUBLE_EQ(a.drain_timeout_s, 30);
  EXPECT_FALSE(a.sink_id.empty());  // the host name
  EXPECT_TRUE(archive::valid_key_segment(a.sink_id)) << a.sink_id;
  EXPECT_FALSE(parse({}).options->archive.enabled());
}

TEST(ArchiveOptions, EveryFlag) {
  ParsedCapture r = parse({"--archive",
                           "s3://bkt",
                           "--s3-endpoint",
                           "http://127.0.0.1:9000/",
                           "--s3-region",
                           "eu-west-1",
                           "--s3-path-style",
                           "--compress",
                           "gzip",
                           "--compress-level",
                           "9",
                           "--s3-part-size",
                           "5",
                           "--sink-id",
                           "sink-a",
                           "--keep-local",
                           "--spool-max",
                           "200",
                           "--archive-drain-timeout",
                           "2.5",
                           "-z",
                           "/bin/true"});
  ASSERT_TRUE(r.options) << r.message;
  const archive::ArchiveConfig& a = r.options->archive;
  EXPECT_EQ(a.endpoint, "http://127.0.0.1:9000");
  EXPECT_EQ(a.region, "eu-west-1");
  EXPECT_TRUE(a.path_style);
  EXPECT_EQ(a.compress, archive::Compression::Gzip);
  EXPECT_EQ(a.level, 9);
  EXPECT_EQ(a.part_size, 5u << 20);
  EXPECT_EQ(a.sink_id, "sink-a");
  EXPECT_TRUE(a.keep_local);
  EXPECT_EQ(a.spool_max, 200'000'000u);
  EXPECT_DOUBLE_EQ(a.drain_timeout_s, 2.5);
  EXPECT_EQ(a.hook, "/bin/true");
  ParsedCapture hook_only = parse({"-z", "gzip"});
  ASSERT_TRUE(hook_only.options) << hook_only.message;
  EXPECT_TRUE(hook_only.options->archive.enabled());
  EXPECT_FALSE(hook_only.options->archive.uploads());
}

TEST(ArchiveOptions, BadInputNamesTheFlag) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"--archive", "bkt/p"}, "--archive"},
      {{"--archive", "s3://B/p"}, "--archive"},
      {{"--archive", "s3://bkt", "--s3-endpoint", "127.0.0.1:9000"}, "--s3-endpoint"},
      {{"--archive", "s3://bkt", "--s3-region", "EU WEST"}, "--s3-region"},
      {{"--archive", "s3://bkt", "--s3-part-size", "4"}, "--s3-part-size"},
      {{"--archive", "s3://bkt", "--compress", "lz4"}, "--compress"},
      {{"--archive", "s3://bkt", "--compress-level", "20"}, "--compress-level"},
      {{"--archive", "s3://bkt", "--compress", "gzip", "--compress-level", "10"},
       "--compress-level"},
      {{"--archive", "s3://bkt", "--sink-id", "a/b"}, "--sink-id"},
      {{"--archive", "s3://bkt", "--spool-max", "x"}, "--spool-max"},
      {{"--archive", "s3://bkt", "--archive-drain-timeout", "-1"}, "--archive-drain-timeout"},
  };
  for (const auto& [extra, flag] : cases) {
    ParsedCapture r = parse(extra);
    EXPECT_FALSE(r.options) << extra.back();
    EXPECT_EQ(r.exit_code, 2) << extra.back();
    EXPECT_NE(r.message.find(flag), std::string::npos) << r.message;
  }
  // Archiving ships completed ring files: a single file never completes while capturing.
  ParsedCapture single = parse_capture_args({"-i", "lo", "-w", "m.pcap", "--archive", "s3://bkt"});
  EXPECT_EQ(single.exit_code, 2);
  EXPECT_NE(single.message.find("-C or -G"), std::string::npos) << single.message;
}

}  // namespace
}  // namespace xcap::cli
