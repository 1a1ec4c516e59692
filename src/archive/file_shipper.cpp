#include "archive/file_shipper.h"

#include <fcntl.h>

#include "archive/capture_facts.h"
#include "archive/compressor.h"
#include "archive/object_name.h"
#include "common/fd.h"
#include "sink/file/file_namer.h"

namespace xcap::archive {
namespace {

std::string dir_of(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : slash == 0 ? "/" : path.substr(0, slash);
}

const char* content_type(Compression c) {
  return c == Compression::Zstd   ? "application/zstd"
         : c == Compression::Gzip ? "application/gzip"
                                  : "application/vnd.tcpdump.pcap";
}

std::vector<std::string> object_headers(const ArchiveConfig& cfg, const SpoolFile& f,
                                        const CaptureFacts& facts) {
  return {std::string("Content-Type: ") + content_type(cfg.compress),
          "x-amz-meta-xcap-packets: " + std::to_string(facts.packets),
          "x-amz-meta-xcap-first: " + sink::utc_stamp(facts.first_ns),
          "x-amz-meta-xcap-last: " + sink::utc_stamp(facts.last_ns),
          "x-amz-meta-xcap-sources: " + f.source,
          "x-amz-meta-xcap-sink: " + cfg.sink_id,
          "x-amz-meta-xcap-version: " XCAP_VERSION};
}

}  // namespace

std::string marker_path(const std::string& path) {
  const size_t slash = path.rfind('/');
  const std::string name = slash == std::string::npos ? path : path.substr(slash + 1);
  return dir_of(path) + "/." + name + ".upload";
}

Outcome FileShipper::ship(const SpoolFile& f, Shipped* out) {
  auto facts = read_capture_facts(f.path);
  if (!facts) return Failure{"local", facts.error().message};
  const ObjectFacts of{f.source, facts->first_ns, facts->last_ns, f.seq, f.ext};
  out->key = object_key(cfg_.prefix, cfg_.sink_id, of, cfg_.compress);
  out->packets = facts->packets;
  bool exists = false;
  if (auto fail = object_exists(s3_, out->key, &exists)) return fail;
  if (exists) {
    out->already_there = true;
    return abort_recorded_upload(s3_, marker_path(f.path));
  }
  Fd in(::open(f.path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return Failure{"local", errno_error(f.path + ": cannot open").message};
  ObjectUpload up{out->key, in.get(), f.bytes, object_headers(cfg_, f, *facts),
                  marker_path(f.path)};
  Compressed packed;
  if (cfg_.compress != Compression::None) {
    auto c = compress_file(in.get(), dir_of(f.path), cfg_.compress, cfg_.level);
    if (!c) return Failure{"local", c.error().message};
    packed = std::move(c.value());
    up.fd = packed.fd.get();
    up.size = packed.bytes;
  }
  out->sent_bytes = up.size;
  return put_object(s3_, up, cfg_.part_size);
}

}  // namespace xcap::archive
