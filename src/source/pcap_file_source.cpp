// libpcap only: <linux/bpf.h> must not meet <pcap/pcap.h> in one translation unit.
#include "source/pcap_file_source.h"

#include <pcap/pcap.h>

#include <algorithm>
#include <cstring>

namespace xcap::source {
namespace {
// Room for a batch of records; a record always fits an empty arena (libpcap refuses records
// over 262,144 bytes).
constexpr size_t kArenaBytes = size_t(4) << 20;
}  // namespace

struct PcapFileSource::Reader {
  pcap_t* pcap = nullptr;
  pcap_pkthdr* hdr = nullptr;  // the record libpcap holds (pending_)
  const u_char* data = nullptr;
  ~Reader() {
    if (pcap) pcap_close(pcap);
  }
};

PcapFileSource::PcapFileSource() : reader_(std::make_unique<Reader>()), arena_(kArenaBytes) {}

PcapFileSource::~PcapFileSource() = default;

Result<std::unique_ptr<PcapFileSource>> PcapFileSource::open(const std::string& path) {
  std::unique_ptr<PcapFileSource> self(new PcapFileSource());
  char err[PCAP_ERRBUF_SIZE] = {};
  self->reader_->pcap =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  // The file the user named is not one to replay (missing, unreadable, not a capture).
  if (!self->reader_->pcap) {
    const std::string why = err;  // libpcap names the file in some of its messages
    return invalid_input(why.rfind(path, 0) == 0 ? why : path + ": " + why);
  }
  const int link = pcap_datalink(self->reader_->pcap);
  if (link != DLT_EN10MB) {
    const char* name = pcap_datalink_val_to_name(link);
    return unsupported(path + ": link type " + (name ? name : std::to_string(link)) +
                       " is not Ethernet: xcap replays Ethernet captures (tcpdump -i IFACE, not "
                       "-i any)");
  }
  return self;
}

bool PcapFileSource::take(PacketView& v) {
  const pcap_pkthdr& h = *reader_->hdr;
  const uint32_t caplen = h.caplen;
  if (used_ + caplen > arena_.size()) return false;
  uint8_t* dst = arena_.data() + used_;
  std::memcpy(dst, reader_->data, caplen);
  used_ += caplen;
  v = PacketView{};
  v.data = dst;
  v.caplen = caplen;
  v.wire_len = std::max(h.len, caplen);
  // Opened with nanosecond precision: tv_usec holds nanoseconds.
  v.ts_ns = uint64_t(h.ts.tv_sec) * 1'000'000'000 + uint64_t(h.ts.tv_usec);
  records_++;
  return true;
}

unsigned PcapFileSource::receive(PacketView* out, unsigned max, int /*timeout_ms*/) {
  used_ = 0;
  unsigned n = 0;
  while (n < max) {
    if (!pending_) {
      if (done_) break;
      const int rc = pcap_next_ex(reader_->pcap, &reader_->hdr, &reader_->data);
      if (rc != 1) {  // -2: end of file; -1: error
        if (rc == -1) read_error_ = pcap_geterr(reader_->pcap);
        done_ = true;
        break;
      }
      pending_ = true;
    }
    if (!take(out[n])) break;  // the next batch starts with it
    pending_ = false;
    n++;
  }
  return n;
}

}  // namespace xcap::source
