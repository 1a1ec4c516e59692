// PcapFileSource: replays a pcap or pcapng file (read by libpcap, nanosecond timestamps)
// through the same worker path as a live capture: decapsulation, filter, sinks. Records keep
// their timestamps and lengths; -s cuts them in the sinks, after decapsulation, as it cuts live
// frames. Ethernet files only
// (what tcpdump -i IFACE writes): a mirror's tunnels start at an Ethernet header.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "source/source.h"

namespace xcap::source {

class PcapFileSource final : public Source {
 public:
  // Errors name the file: missing, unreadable, not a capture, not Ethernet.
  static Result<std::unique_ptr<PcapFileSource>> open(const std::string& path);
  ~PcapFileSource() override;

  unsigned receive(PacketView* out, unsigned max, int timeout_ms) override;
  void release() override {}  // the next receive() reuses the arena
  bool exhausted() const override { return done_ && !pending_; }
  uint32_t queue() const override { return 0; }
  // A read error in the middle of the file (a truncated last record is not one: libpcap
  // reports it as the end); empty when none.
  const std::string& read_error() const { return read_error_; }
  uint64_t records() const { return records_; }

 private:
  PcapFileSource();
  // Copies the record libpcap holds into the arena as out[n]; false when it does not fit.
  bool take(PacketView& out);

  struct Reader;
  std::unique_ptr<Reader> reader_;
  std::vector<uint8_t> arena_;  // a batch's records; libpcap reuses its buffer per record
  size_t used_ = 0;
  bool pending_ = false;  // libpcap holds a record that did not fit the last batch
  bool done_ = false;
  uint64_t records_ = 0;
  std::string read_error_;
};

}  // namespace xcap::source
