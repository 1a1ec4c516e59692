#include "stream/merged_output.h"

#include <fcntl.h>
#include <unistd.h>

#include "common/defaults.h"

namespace xcap::stream {
namespace {
constexpr size_t kFlushBytes = 256 * 1024;
constexpr uint16_t kLinkEthernet = 1;
}  // namespace

MergedOutput::MergedOutput(Fd fd, std::string path, bool pcapng)
    : fd_(std::move(fd)), path_(std::move(path)), pcapng_(pcapng) {}

Result<MergedOutput> MergedOutput::open(const std::string& path, bool pcapng) {
  Fd fd(path == "-" ? fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3)
                    : ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return errno_error("'" + path + "': cannot open for writing");
  MergedOutput out(std::move(fd), path == "-" ? "standard output" : path, pcapng);
  if (pcapng) out.pending_ = sink::pcapng_section_header();
  return out;
}

Result<uint32_t> MergedOutput::add_interface(const std::string& name, uint16_t link_type,
                                             uint32_t snaplen) {
  if (!pcapng_) {
    if (pcap_link_ && *pcap_link_ != link_type)
      return unsupported("interface " + name + " has link type " + std::to_string(link_type) +
                         ", the others " + std::to_string(*pcap_link_) +
                         ": a pcap file holds one link type (use pcapng)");
    if (!pcap_link_) {
      pcap_link_ = link_type;
      const std::vector<uint8_t> head = sink::pcap_file_header(defaults::kSnaplen, link_type);
      pending_.insert(pending_.begin(), head.begin(), head.end());
    }
    return uint32_t{0};
  }
  std::vector<uint8_t> idb;
  sink::append_pcapng_interface(idb, name, snaplen ? snaplen : defaults::kSnaplen, link_type);
  if (auto w = write(idb); !w) return w.error();
  return interfaces_++;
}

std::vector<uint8_t> MergedOutput::encode_packet(uint32_t iface, uint64_t ts_ns, uint32_t caplen,
                                                 uint32_t origlen, const uint8_t* data,
                                                 uint8_t direction) const {
  PacketView v;
  v.direction = direction;
  v.data = data;
  v.caplen = caplen;
  v.wire_len = origlen;
  v.ts_ns = ts_ns;
  v.iface_id = iface;
  const sink::RecordLengths len{caplen, origlen > caplen ? origlen : caplen};
  std::vector<uint8_t> out(pcapng_ ? sink::pcapng_record_bytes(caplen, direction)
                                   : sink::pcap_record_bytes(caplen));
  if (pcapng_)
    sink::encode_pcapng_record(out.data(), v, len);
  else
    sink::encode_pcap_record(out.data(), v, len);
  return out;
}

std::vector<uint8_t> MergedOutput::encode_statistics(uint32_t iface, uint64_t ts_ns,
                                                     const sink::InterfaceStatistics& counters,
                                                     const std::string& comment) const {
  std::vector<uint8_t> out;
  if (pcapng_) sink::append_pcapng_statistics(out, iface, ts_ns, counters, comment);
  return out;
}

Result<void> MergedOutput::write_all(const uint8_t* p, size_t n) {
  while (n > 0) {
    const ssize_t w = ::write(fd_.get(), p, n);
    if (w < 0 && errno == EINTR) continue;
    if (w < 0) {
      error_ = errno_error("writing " + path_);
      return *error_;
    }
    p += w;
    n -= static_cast<size_t>(w);
  }
  return ok();
}

Result<void> MergedOutput::write(const std::vector<uint8_t>& bytes) {
  if (error_) return *error_;
  pending_.insert(pending_.end(), bytes.begin(), bytes.end());
  // pcap: the header waits for the first interface's link type.
  if (pending_.size() >= kFlushBytes && (pcapng_ || pcap_link_)) return flush();
  return ok();
}

Result<void> MergedOutput::flush() {
  if (error_) return *error_;
  if (!pcapng_ && !pcap_link_) return ok();
  auto r = write_all(pending_.data(), pending_.size());
  pending_.clear();
  return r;
}

Result<void> MergedOutput::close() {
  if (!pcapng_ && !pcap_link_) {
    pcap_link_ = kLinkEthernet;  // no interface came: still a valid, empty file
    const std::vector<uint8_t> head = sink::pcap_file_header(defaults::kSnaplen, kLinkEthernet);
    pending_.insert(pending_.begin(), head.begin(), head.end());
  }
  auto r = flush();
  if (r && fd_.valid() && ::close(fd_.release()) != 0) return errno_error("closing " + path_);
  return r;
}

}  // namespace xcap::stream
