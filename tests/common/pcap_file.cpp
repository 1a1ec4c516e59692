// libpcap lives in this translation unit only (its struct bpf_insn clashes with <linux/bpf.h>).
#include "common/pcap_file.h"

#include <gtest/gtest.h>
#include <pcap/pcap.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
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

std::vector<PcapRecord> spool_records(const std::string& dir) {
  std::vector<PcapRecord> all;
  for (const auto& e : std::filesystem::directory_iterator(dir))
    if (!e.path().filename().string().starts_with("."))
      for (PcapRecord& r : read_pcap(e.path()).records) all.push_back(std::move(r));
  std::sort(all.begin(), all.end());
  return all;
}

void write_pcap_records(const std::string& path, const std::vector<PcapRecord>& records) {
  pcap_t* p = pcap_open_dead_with_tstamp_precision(DLT_EN10MB, 262144, PCAP_TSTAMP_PRECISION_NANO);
  pcap_dumper_t* d = pcap_dump_open(p, path.c_str());
  if (!d) throw std::runtime_error("cannot write " + path);
  for (const auto& r : records) {
    pcap_pkthdr h{};
    h.ts.tv_sec = time_t(r.ts_ns / 1'000'000'000);
    h.ts.tv_usec = suseconds_t(r.ts_ns % 1'000'000'000);  // nanoseconds in a nano dumper
    h.caplen = uint32_t(r.data.size());
    h.len = r.len;
    pcap_dump(reinterpret_cast<u_char*>(d), &h, r.data.data());
  }
  pcap_dump_close(d);
  pcap_close(p);
}

void write_pcap(const std::string& path, const std::vector<std::vector<uint8_t>>& frames) {
  std::vector<PcapRecord> records;
  uint64_t i = 0;
  for (const auto& f : frames) {
    records.push_back(
        {1'700'000'000'000'000'000ull + i * 1'000'000, uint32_t(f.size()), uint32_t(f.size()), f});
    i++;
  }
  write_pcap_records(path, records);
}

}  // namespace xcap::test
