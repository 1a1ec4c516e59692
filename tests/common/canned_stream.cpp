#include "common/canned_stream.h"

#include "sink/file/pcap_format.h"

namespace xcap::test {

std::vector<CannedPacket> canned_packets(int t, int n, uint64_t base_ns, uint64_t step_ns,
                                         uint64_t offset_ns) {
  std::vector<CannedPacket> out;
  for (int i = 0; i < n; i++) {
    const std::string tag = "t" + std::to_string(t) + "#" + std::to_string(i);
    CannedPacket p;
    p.ts_ns = base_ns + static_cast<uint64_t>(i) * step_ns + static_cast<uint64_t>(t) * offset_ns;
    p.frame = FrameBuilder()
                  .eth()
                  .ipv4("198.18.0." + std::to_string(t + 1), "198.18.1.1")
                  .udp(static_cast<uint16_t>(1000 + t), 2000)
                  .bytes(Bytes(tag.begin(), tag.end()))
                  .build();
    out.push_back(std::move(p));
  }
  return out;
}

namespace {

// Sends bytes in pieces, pausing between them; false when the client half-closed meanwhile.
bool send_pieces(TestHttpExchange& ex, std::vector<uint8_t>& pending, const CannedTarget& t,
                 bool all) {
  while (pending.size() >= t.piece || (all && !pending.empty())) {
    const size_t n = std::min(t.piece, pending.size());
    ex.send_chunk(std::vector<uint8_t>(pending.begin(), pending.begin() + n));
    pending.erase(pending.begin(), pending.begin() + n);
    if (ex.client_closed_within(t.pause)) return false;
  }
  return true;
}

}  // namespace

void serve_canned(TestHttpExchange& ex, const CannedTarget& t) {
  if (!t.token.empty() && ex.request().header("authorization") != "Bearer " + t.token) {
    ex.respond(401, "text/plain", "a valid bearer token is required\n");
    return;
  }
  ex.start_chunked();
  std::vector<uint8_t> out = sink::pcapng_section_header();
  uint32_t described = 0;
  sink::InterfaceStatistics isb;
  isb.ifrecv = 0, isb.ifdrop = 0, isb.filteraccept = 0, isb.osdrop = 0, isb.usrdeliv = 0;
  auto describe_up_to = [&](uint32_t iface) {
    for (; described <= iface; described++)
      sink::append_pcapng_interface(out, t.interfaces.at(described), 65535, t.link_type);
  };
  describe_up_to(0);
  uint64_t last_ts = t.packets.empty() ? 1'700'000'000'000'000'000ull : t.packets[0].ts_ns;
  for (size_t i = 0; i < t.packets.size(); i++) {
    const CannedPacket& p = t.packets[i];
    describe_up_to(p.iface);
    PacketView v;
    v.data = p.frame.data();
    v.caplen = v.wire_len = static_cast<uint32_t>(p.frame.size());
    v.ts_ns = p.ts_ns;
    v.iface_id = p.iface;
    const size_t at = out.size();
    out.resize(at + sink::pcapng_record_bytes(v.caplen));
    sink::encode_pcapng_record(out.data() + at, v, {v.caplen, v.wire_len});
    last_ts = p.ts_ns;
    *isb.ifrecv += 1, *isb.filteraccept += 1, *isb.usrdeliv += 1;
    if (t.congestion && i == t.packets.size() / 2) {
      *isb.osdrop += 3, *isb.ifrecv += 3, *isb.filteraccept += 3;
      sink::append_pcapng_statistics(out, 0, last_ts, isb,
                                     "congested: this client's buffer (64 MiB) is full; packets "
                                     "are dropped for this client only");
      sink::append_pcapng_statistics(out, 0, last_ts, isb,
                                     "cleared: this client lost 3 packets while congested (3 in "
                                     "all)");
    }
    if (i % 10 == 9) sink::append_pcapng_statistics(out, 0, last_ts, isb, "");
    if (!send_pieces(ex, out, t, false)) break;
  }
  // As xcap's server: a client that half-closes gets what is buffered, then the last block.
  std::string end =
      ex.client_closed_within(std::chrono::milliseconds(0)) ? "end: client closed" : t.end;
  if (end.empty()) {  // live: until the client half-closes (or the test ends)
    send_pieces(ex, out, t, true);
    if (t.on_all_sent) t.on_all_sent();
    while (!ex.client_closed_within(std::chrono::milliseconds(50)))
      if (ex.stopping()) return;
    end = "end: client closed";
  }
  sink::append_pcapng_statistics(out, 0, last_ts, isb, end);
  ex.send_chunk(out);
  ex.end_chunked();
}

void serve_stall(TestHttpExchange& ex) {
  while (!ex.client_closed_within(std::chrono::milliseconds(50)))
    if (ex.stopping()) return;
}

}  // namespace xcap::test
