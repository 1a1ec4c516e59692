// MergedOutput: the one capture `xcap stream` writes, pcapng (an interface per target and
// server interface) or pcap (one link type: every interface must share it). It encodes
// records for the merger and writes bytes in the order the merger releases them.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/fd.h"
#include "common/result.h"
#include "sink/file/pcap_format.h"

namespace xcap::stream {

class MergedOutput {
 public:
  // path "-": standard output. An existing file is replaced (as tcpdump -w does).
  static Result<MergedOutput> open(const std::string& path, bool pcapng);

  // A new output interface; its id. pcapng: its IDB is written at once (before any record
  // that uses it). pcap: the first fixes the file's link type and snaplen; a later one with
  // another link type is an error.
  Result<uint32_t> add_interface(const std::string& name, uint16_t link_type, uint32_t snaplen);

  std::vector<uint8_t> encode_packet(uint32_t iface, uint64_t ts_ns, uint32_t caplen,
                                     uint32_t origlen, const uint8_t* data,
                                     uint8_t direction = 0) const;
  // pcap: empty (a pcap file has no statistics).
  std::vector<uint8_t> encode_statistics(uint32_t iface, uint64_t ts_ns,
                                         const sink::InterfaceStatistics& counters,
                                         const std::string& comment) const;

  // Buffers bytes; writes when enough is buffered. An error is sticky (the reader of stdout
  // went away, the disk is full).
  Result<void> write(const std::vector<uint8_t>& bytes);
  Result<void> flush();
  // Writes a pcap header if no interface ever came, flushes, closes.
  Result<void> close();

  bool pcapng() const { return pcapng_; }
  const std::string& path() const { return path_; }

 private:
  MergedOutput(Fd fd, std::string path, bool pcapng);
  Result<void> write_all(const uint8_t* p, size_t n);

  Fd fd_;
  std::string path_;
  bool pcapng_;
  std::vector<uint8_t> pending_;
  std::optional<uint16_t> pcap_link_;
  uint32_t interfaces_ = 0;
  std::optional<Error> error_;
};

}  // namespace xcap::stream
