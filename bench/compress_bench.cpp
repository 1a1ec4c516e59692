// The archive's compression before upload (src/archive/compressor.h) on one core: zstd levels
// 1, 3 (default) and 9, and gzip 6, over a mixed capture: a pcap of Ethernet/IPv4/TCP frames
// whose payloads are a third HTTP-like text, a third random (TLS-like) and a third small
// (ACKs, 0-byte payloads). Reports MB/s of capture in and the ratio (in / out).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <random>
#include <string>

#include "archive/compressor.h"
#include "common/fd.h"
#include "common/frame_builder.h"

namespace {

using xcap::archive::Compression;

void put32(std::string& s, uint32_t v) {
  s.append(reinterpret_cast<const char*>(&v), 4);
}

// ~32 MB of pcap, written to a file in dir; returns its path.
std::string make_corpus(const std::string& dir) {
  std::mt19937 rng(11);
  std::string pcap;
  put32(pcap, 0xa1b23c4d);
  pcap.append("\x02\x00\x04\x00", 4);
  put32(pcap, 0), put32(pcap, 0), put32(pcap, 262144), put32(pcap, 1);
  const std::string text =
      "GET /api/v1/items?page=2 HTTP/1.1\r\nHost: shop.example\r\nUser-Agent: curl/7.88\r\n"
      "Accept: application/json\r\nCookie: session=4f2a9c0e8b\r\n\r\n";
  uint64_t ts = 1'700'000'000'000'000'000ull;
  for (uint32_t i = 0; pcap.size() < (32u << 20); i++) {
    xcap::FrameBuilder b;
    b.eth()
        .ipv4("198.18.70." + std::to_string(1 + i % 50), "198.18.71.1")
        .tcp(uint16_t(30000 + i % 500), 443, 0x18, i * 1448);
    std::vector<uint8_t> payload;
    if (i % 3 == 0) payload.assign(text.begin(), text.end());
    if (i % 3 == 1)
      for (int k = 0; k < 1200; k++) payload.push_back(uint8_t(rng()));
    b.bytes(payload);
    const std::vector<uint8_t> f = b.build();
    ts += 20'000 + rng() % 5000;
    put32(pcap, uint32_t(ts / 1'000'000'000)), put32(pcap, uint32_t(ts % 1'000'000'000));
    put32(pcap, uint32_t(f.size())), put32(pcap, uint32_t(f.size()));
    pcap.append(reinterpret_cast<const char*>(f.data()), f.size());
  }
  const std::string path = dir + "/corpus.pcap";
  xcap::Fd fd(::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY, 0600));
  if (::write(fd.get(), pcap.data(), pcap.size()) != ssize_t(pcap.size())) abort();
  return path;
}

const std::string& corpus() {
  static const std::string path = [] {
    char tmpl[] = "/tmp/xcap-compress-bench-XXXXXX";
    if (!mkdtemp(tmpl)) abort();
    return make_corpus(tmpl);
  }();
  return path;
}

void BM_Compress(benchmark::State& state, Compression c, int level) {
  xcap::Fd in(::open(corpus().c_str(), O_RDONLY));
  const off_t size = ::lseek(in.get(), 0, SEEK_END);
  const std::string dir = corpus().substr(0, corpus().rfind('/'));
  uint64_t out = 0;
  for (auto _ : state) {
    auto r = xcap::archive::compress_file(in.get(), dir, c, level);
    if (!r)
      state.SkipWithError(r.error().message.c_str());
    else
      out = r->bytes;
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * size);
  state.counters["ratio"] = double(size) / double(out ? out : 1);
}

BENCHMARK_CAPTURE(BM_Compress, zstd_1, Compression::Zstd, 1)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Compress, zstd_3, Compression::Zstd, 3)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Compress, zstd_9, Compression::Zstd, 9)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_Compress, gzip_6, Compression::Gzip, 6)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
