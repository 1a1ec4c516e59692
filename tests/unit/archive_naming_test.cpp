// Object names, key encoding, s3:// URLs and endpoints of the archive (src/archive/
// object_name.h, s3_location.h): the names are an outside contract, the encoding what
// libcurl 7.88 signs as written.
#include <gtest/gtest.h>

#include "archive/object_name.h"
#include "archive/s3_location.h"

namespace xcap::archive {
namespace {

TEST(ArchiveNaming, ObjectKeyFromTheFilesFacts) {
  // 2024-02-29T23:59:59.123456789Z .. 2024-03-01T00:00:01.000000001Z, seq 7
  const ObjectFacts f{"all", 1709251199123456789ull, 1709251201000000001ull, 7, "pcap"};
  EXPECT_EQ(object_key("vtap/eu", "sink-a", f, Compression::Zstd),
            "vtap/eu/sink-a/all/2024/02/29/"
            "20240229T235959.123456789Z_20240301T000001.000000001Z_000007.pcap.zst");
  EXPECT_EQ(
      object_key("", "s", {"vxlan_198.18.0.10_vni100", 0, 0, 1234567, "pcapng"}, Compression::Gzip),
      "s/vxlan_198.18.0.10_vni100/1970/01/01/"
      "19700101T000000.000000000Z_19700101T000000.000000000Z_1234567.pcapng.gz");
  EXPECT_EQ(object_key("p", "s", f, Compression::None),
            "p/s/all/2024/02/29/20240229T235959.123456789Z_20240301T000001.000000001Z_000007.pcap");
}

TEST(ArchiveNaming, SpoolNamesOfARing) {
  auto s = parse_spool_name("m-20240229T235959.123456789Z-000042.pcap", "m");
  ASSERT_TRUE(s);
  EXPECT_EQ(s->source, "all");
  EXPECT_EQ(s->stamp, "20240229T235959.123456789Z");
  EXPECT_EQ(s->seq, 42u);
  EXPECT_EQ(s->ext, "pcap");
  auto split =
      parse_spool_name("m-vxlan_198.18.0.10_vni-1-20240229T235959.123456789Z-1000000.pcapng", "m");
  ASSERT_TRUE(split);
  EXPECT_EQ(split->source, "vxlan_198.18.0.10_vni-1");
  EXPECT_EQ(split->seq, 1000000u);
  EXPECT_EQ(split->ext, "pcapng");
  for (const char* bad :
       {"m-20240229T235959.123456789Z-000042.pcap.part", "m.pcap", "m.1.pcap",
        "mx-20240229T235959.123456789Z-000042.pcap", "m-20240229T235959.123456789Z-42.pcap",
        "m-2024022XT235959.123456789Z-000042.pcap", "m--20240229T235959.123456789Z-000042.pcap",
        "other-20240229T235959.123456789Z-000042.pcap"})
    EXPECT_FALSE(parse_spool_name(bad, "m")) << bad;
}

TEST(ArchiveNaming, KeyEncodingLeavesOnlyUnreservedAndSlash) {
  EXPECT_EQ(encode_key("a/B-9_.~/c"), "a/B-9_.~/c");
  EXPECT_EQ(encode_key("a b:c+d=e&f%g"), "a%20b%3Ac%2Bd%3De%26f%25g");
  EXPECT_EQ(encode_key("\xc3\xa9"), "%C3%A9");
}

TEST(ArchiveNaming, KeySegments) {
  EXPECT_TRUE(valid_key_segment("sink-1.eu_west"));
  for (const char* bad : {"", ".", "..", "a/b", "a b", "a:b"}) EXPECT_FALSE(valid_key_segment(bad));
  EXPECT_FALSE(valid_key_segment(std::string(129, 'a')));
}

TEST(ArchiveLocation, S3Urls) {
  auto u = parse_s3_url("s3://my-bucket.1/vtap/eu/");
  ASSERT_TRUE(u);
  EXPECT_EQ(u->bucket, "my-bucket.1");
  EXPECT_EQ(u->prefix, "vtap/eu");
  auto bare = parse_s3_url("s3://abc");
  ASSERT_TRUE(bare);
  EXPECT_EQ(bare->prefix, "");
  for (const char* bad : {"http://b/p", "s3://", "s3://ab", "s3://Bucket/p", "s3://-bkt/p",
                          "s3://bkt/a//b", "s3://bk_t/p"}) {
    auto r = parse_s3_url(bad);
    ASSERT_FALSE(r) << bad;
    EXPECT_EQ(r.error().kind, ErrorKind::InvalidInput);
    EXPECT_NE(r.error().message.find(bad), std::string::npos) << r.error().message;
  }
}

TEST(ArchiveLocation, EndpointsAndObjectUrls) {
  EXPECT_EQ(*normalize_endpoint("", "eu-west-1"), "https://s3.eu-west-1.amazonaws.com");
  EXPECT_EQ(*normalize_endpoint("http://127.0.0.1:9000/", "x"), "http://127.0.0.1:9000");
  for (const char* bad : {"127.0.0.1:9000", "ftp://h", "http://", "http://h/path", "http://u@h"})
    EXPECT_FALSE(normalize_endpoint(bad, "x")) << bad;
  EXPECT_EQ(object_url("http://127.0.0.1:9000", "b", "p/k%3A1", true),
            "http://127.0.0.1:9000/b/p/k%3A1");
  EXPECT_EQ(object_url("https://s3.eu-west-1.amazonaws.com", "b", "k", false),
            "https://b.s3.eu-west-1.amazonaws.com/k");
  EXPECT_EQ(object_url("http://h:1", "b", "", true), "http://h:1/b/");
}

}  // namespace
}  // namespace xcap::archive
