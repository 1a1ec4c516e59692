// libpcap lives in this translation unit only (its struct bpf_insn clashes with <linux/bpf.h>).
#include "common/pcap_file.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <cstdio>
#include <stdexcept>

namespace xcap::test {
namespace {

// Reads every record of p (opened at nanosecond precision, or not at all: err says why), then
// closes it.
PcapContents read_all(pcap_t* p, const char* err) {
  PcapContents out;
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
  if (rc != PCAP_ERROR_BREAK) out.error = pcap_geterr(p);
  pcap_close(p);
  return out;
}

}  // namespace

PcapContents read_pcap(const std::string& path) {
  char err[PCAP_ERRBUF_SIZE] = {};
  return read_all(
      pcap_open_offline_with_tstamp_precision(path.c_str(), PCAP_TSTAMP_PRECISION_NANO, err), err);
}

PcapContents read_pcap_bytes(std::vector<uint8_t> bytes) {
  FILE* f = fmemopen(bytes.data(), bytes.size(), "rb");
  if (!f) return {.error = "fmemopen failed"};
  char err[PCAP_ERRBUF_SIZE] = {};
  pcap_t* p = pcap_fopen_offline_with_tstamp_precision(f, PCAP_TSTAMP_PRECISION_NANO, err);
  if (!p) fclose(f);  // pcap_close closes f otherwise
  return read_all(p, err);
}

std::vector<PcapRecord> read_pcap_records(const std::string& path) {
  PcapContents file = read_pcap(path);
  if (!file.error.empty()) ADD_FAILURE() << path << ": " << file.error;
  return std::move(file.records);
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
