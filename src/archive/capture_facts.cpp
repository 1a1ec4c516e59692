#include "archive/capture_facts.h"

#include <pcap/pcap.h>

#include <memory>

namespace xcap::archive {

Result<CaptureFacts> read_capture_facts(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = "";
  std::unique_ptr<pcap_t, decltype(&pcap_close)> p(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err),
      pcap_close);
  if (!p) return make_error(ErrorKind::System, path + ": " + err);
  CaptureFacts f;
  pcap_pkthdr* h;
  const u_char* data;
  int rc;
  while ((rc = pcap_next_ex(p.get(), &h, &data)) == 1) {
    const uint64_t ns = uint64_t(h->ts.tv_sec) * 1'000'000'000u + uint64_t(h->ts.tv_usec);
    if (f.packets == 0) f.first_ns = ns;
    f.last_ns = ns;
    f.packets++;
  }
  if (rc == PCAP_ERROR) return make_error(ErrorKind::System, path + ": " + pcap_geterr(p.get()));
  return f;
}

}  // namespace xcap::archive
