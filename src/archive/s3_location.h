// Where objects go: the s3://BUCKET/PREFIX of --archive, the endpoint of --s3-endpoint, and
// the request URL of one object (path style or virtual-host style).
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace xcap::archive {

struct S3Url {
  std::string bucket;
  std::string prefix;  // no leading or trailing '/'; may be empty
};

// "s3://bucket/some/prefix/" -> {bucket, "some/prefix"}. The bucket must be a valid S3 bucket
// name (3-63 of [a-z0-9.-], starting and ending with a letter or digit).
Result<S3Url> parse_s3_url(std::string_view url);

// "http(s)://host[:port][/]" -> without the trailing '/'. Empty: AWS's regional endpoint.
Result<std::string> normalize_endpoint(std::string_view endpoint, std::string_view region);

// The URL of an already encoded key (encode_key) in bucket, or of the bucket itself when
// encoded_key is empty. Path style: ENDPOINT/BUCKET/KEY; else scheme://BUCKET.HOST/KEY.
std::string object_url(std::string_view endpoint, std::string_view bucket,
                       std::string_view encoded_key, bool path_style);

}  // namespace xcap::archive
