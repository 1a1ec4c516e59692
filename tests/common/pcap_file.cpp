// libpcap lives in this translation unit only (its struct bpf_insn clashes with <linux/bpf.h>).
#include "common/pcap_file.h"

#include <pcap/pcap.h>

#include <stdexcept>

namespace xcap::test {

PcapContents read_pcap(const std::string& path) {
  PcapContents out;
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p =
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) {
    out.error = err;
    return out;
  }
  out.link_type = pcap_datalink(p);
  pcap_pkthdr* h = nullptr;
  const u_char* d = nullptr;
  int rc;
  while ((rc = pcap_next_ex(p, &h, &d)) == 1)
    out.records.push_back({uint64_t(h->ts.tv_sec) * 1'000'000'000 + uint64_t(h->ts.tv_usec),
                           h->caplen, h->len, std::vector<uint8_t>(d, d + h->caplen)});
  if (rc == -1) out.error = pcap_geterr(p);
  pcap_close(p);
  return out;
}

void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  pcap_t* p = pcap_open_dead(DLT_EN10MB, 65535);
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  if (!d) throw std::runtime_error("cannot write " + path);
  uint32_t i = 0;
  for (const auto& f : frames) {
    pcap_pkthdr h{};
    h.ts.tv_sec = 1'700'000'000 + i / 1000;
    h.ts.tv_usec = (i % 1000) * 1000;
    h.caplen = h.len = uint32_t(f.size());
    pcap_dump(reinterpret_cast<u_char*>(d), &h, f.data());
    i++;
  }
  pcap_dump_close(d);
  pcap_close(p);
}

}  // namespace xcap::test
