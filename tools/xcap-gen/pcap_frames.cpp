#include "pcap_frames.h"

#include <pcap/pcap.h>

#include <memory>

namespace xcap::gen {

Result<PcapFrames> read_pcap_frames(const std::string& path, size_t max_len) {
  char err[PCAP_ERRBUF_SIZE] = {};
  std::unique_ptr<pcap_t, decltype(&pcap_close)> p(pcap_open_offline(path.c_str(), err),
                                                   &pcap_close);
  if (!p) return make_error(ErrorKind::System, "--pcap " + path + ": " + err);
  if (pcap_datalink(p.get()) != DLT_EN10MB)
    return make_error(ErrorKind::System, "--pcap " + path + ": link type " +
                                             std::to_string(pcap_datalink(p.get())) +
                                             " is not Ethernet (DLT_EN10MB)");
  PcapFrames out;
  pcap_pkthdr* hdr;
  const u_char* data;
  int rc;
  while ((rc = pcap_next_ex(p.get(), &hdr, &data)) == 1) {
    // Sent as captured: a frame cut by a snaplen goes out cut, which replays what was seen.
    if (hdr->caplen < 14 || hdr->caplen > max_len) {
      out.skipped++;
      continue;
    }
    out.frames.emplace_back(data, data + hdr->caplen);
  }
  if (rc == PCAP_ERROR)
    return make_error(ErrorKind::System, "--pcap " + path + ": " + pcap_geterr(p.get()));
  return out;
}

}  // namespace xcap::gen
