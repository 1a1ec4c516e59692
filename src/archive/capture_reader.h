// CaptureReader: the records of one stored capture (pcap or pcapng, told apart by its first
// bytes, after decompression) in file order, read in pieces so an object of any size takes a
// bounded amount of memory. pcapng goes through the stream reader of `xcap stream`
// (stream/pcapng_stream_reader.h); classic pcap (either byte order, micro- or nanosecond
// magic) is read here. Malformed input is an error that names the record where it starts.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <vector>

#include "archive/decompressor.h"
#include "common/result.h"
#include "stream/pcapng_stream_reader.h"

namespace xcap::archive {

struct CaptureInterface {
  std::string name;  // pcapng if_name; empty in pcap
  uint16_t link_type = 0;
  uint32_t snaplen = 0;
};

// data is valid until the next call to next().
struct CaptureRecord {
  const CaptureInterface* iface = nullptr;  // valid as long as the reader
  uint64_t ts_ns = 0;
  uint32_t caplen = 0, origlen = 0;
  const uint8_t* data = nullptr;
  uint8_t direction = 0;  // pcapng epb_flags bits 0-1; 0 in pcap
};

class CaptureReader {
 public:
  explicit CaptureReader(Decompressor in) : in_(std::move(in)) {}

  // The next record; nullopt at the end of the file.
  Result<std::optional<CaptureRecord>> next();
  uint64_t records() const { return records_; }

 private:
  Result<bool> more();  // decompresses the next piece into buf_; false at the end
  Result<std::optional<CaptureRecord>> next_pcap();
  Result<std::optional<CaptureRecord>> next_pcapng();
  Result<void> start();  // reads enough to know the format (and the pcap header)

  Decompressor in_;
  std::vector<uint8_t> buf_;  // pcap: bytes not yet returned start at pos_
  size_t pos_ = 0;
  bool started_ = false, pcapng_ = false, at_end_ = false;
  // pcap
  bool swapped_ = false, nano_ = false;
  // pcapng
  stream::PcapngStreamReader ng_;
  std::vector<const CaptureInterface*> section_;  // this section's interfaces by id
  std::deque<CaptureInterface> interfaces_;       // every interface met (stable addresses)
  uint64_t records_ = 0;
};

}  // namespace xcap::archive
