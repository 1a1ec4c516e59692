#include "archive/capture_reader.h"

#include <byteswap.h>

#include <cstring>
#include <variant>

#include "common/defaults.h"
#include "sink/file/pcap_format.h"

namespace xcap::archive {
namespace {

constexpr size_t kPiece = 256 << 10;
constexpr uint32_t kPcapMagicMicro = 0xa1b2c3d4;
constexpr size_t kPcapHeaderBytes = 24;
// A record longer than this is malformed: xcap keeps at most defaults::kSnaplen bytes, and
// other tools' pcaps no more than libpcap's own limit (the same 256 KiB).
constexpr uint32_t kMaxRecordBytes = defaults::kSnaplen;

Error malformed(uint64_t record, const std::string& why) {
  return make_error(ErrorKind::InvalidInput,
                    "not a readable capture at record " + std::to_string(record + 1) + ": " + why);
}

}  // namespace

Result<bool> CaptureReader::more() {
  if (at_end_) return false;
  if (pos_ > 0 && !pcapng_) {  // pcap keeps only what it has not returned
    buf_.erase(buf_.begin(), buf_.begin() + long(pos_));
    pos_ = 0;
  }
  const size_t had = buf_.size();
  buf_.resize(had + kPiece);
  auto n = in_.read(buf_.data() + had, kPiece);
  if (!n) return n.error();
  buf_.resize(had + *n);
  at_end_ = *n == 0;
  return *n > 0;
}

Result<void> CaptureReader::start() {
  while (buf_.size() < 4) {
    auto m = more();
    if (!m) return m.error();
    if (!*m) return buf_.empty() ? ok() : Result<void>(malformed(0, "shorter than a header"));
  }
  uint32_t magic;
  memcpy(&magic, buf_.data(), 4);
  if (magic == sink::kPcapngShbType) {
    pcapng_ = true;
    ng_.feed(buf_.data(), buf_.size());
    buf_.clear();
    return ok();
  }
  swapped_ = magic == bswap_32(kPcapMagicMicro) || magic == bswap_32(sink::kPcapMagicNano);
  nano_ = magic == sink::kPcapMagicNano || magic == bswap_32(sink::kPcapMagicNano);
  if (!swapped_ && !nano_ && magic != kPcapMagicMicro)
    return malformed(0, "neither pcap nor pcapng (no magic number)");
  while (buf_.size() < kPcapHeaderBytes) {
    auto m = more();
    if (!m) return m.error();
    if (!*m) return malformed(0, "the pcap header is cut short");
  }
  uint32_t snaplen, link;
  memcpy(&snaplen, buf_.data() + 16, 4);
  memcpy(&link, buf_.data() + 20, 4);
  if (swapped_) snaplen = bswap_32(snaplen), link = bswap_32(link);
  // The link type is the low 16 bits; the rest may carry FCS flags.
  interfaces_.push_back({"", uint16_t(link & 0xFFFF), snaplen});
  pos_ = kPcapHeaderBytes;
  return ok();
}

Result<std::optional<CaptureRecord>> CaptureReader::next() {
  if (!started_) {
    started_ = true;
    if (auto s = start(); !s) return s.error();
  }
  return pcapng_ ? next_pcapng() : next_pcap();
}

Result<std::optional<CaptureRecord>> CaptureReader::next_pcap() {
  if (interfaces_.empty()) return std::optional<CaptureRecord>();  // an empty file
  for (;;) {
    const size_t avail = buf_.size() - pos_;
    if (avail >= sink::kPcapRecordHeaderBytes) {
      uint32_t h[4];
      memcpy(h, buf_.data() + pos_, sizeof h);
      if (swapped_)
        for (uint32_t& v : h) v = bswap_32(v);
      if (h[2] > kMaxRecordBytes)
        return malformed(records_, "a record of " + std::to_string(h[2]) + " bytes");
      if (avail >= sink::kPcapRecordHeaderBytes + h[2]) {
        CaptureRecord r;
        r.iface = &interfaces_.front();
        r.ts_ns = uint64_t(h[0]) * 1'000'000'000u + uint64_t(h[1]) * (nano_ ? 1 : 1000);
        r.caplen = h[2];
        r.origlen = h[3] < h[2] ? h[2] : h[3];
        r.data = buf_.data() + pos_ + sink::kPcapRecordHeaderBytes;
        pos_ += sink::kPcapRecordHeaderBytes + h[2];
        records_++;
        return std::optional<CaptureRecord>(r);
      }
    }
    auto m = more();
    if (!m) return m.error();
    if (!*m) {
      if (pos_ == buf_.size()) return std::optional<CaptureRecord>();
      return malformed(records_, "the last record is cut short");
    }
  }
}

Result<std::optional<CaptureRecord>> CaptureReader::next_pcapng() {
  for (;;) {
    auto b = ng_.next();
    if (!b) {
      auto m = more();
      if (!m) return m.error();
      if (!*m) {
        if (ng_.pending() == 0) return std::optional<CaptureRecord>();
        return malformed(records_, "the last block is cut short");
      }
      ng_.feed(buf_.data(), buf_.size());
      buf_.clear();
      continue;
    }
    if (!*b) return malformed(records_, b->error().message);
    stream::StreamBlock& block = **b;
    if (std::holds_alternative<stream::SectionBlock>(block)) {
      section_.clear();
    } else if (auto* i = std::get_if<stream::InterfaceBlock>(&block)) {
      interfaces_.push_back({i->name, i->link_type, i->snaplen});
      section_.push_back(&interfaces_.back());
    } else if (auto* p = std::get_if<stream::PacketBlock>(&block)) {
      if (p->iface >= section_.size())  // the stream reader checks this too
        return malformed(records_, "a packet of an undescribed interface");
      records_++;
      return std::optional<CaptureRecord>(CaptureRecord{section_[p->iface], p->ts_ns, p->caplen,
                                                        std::max(p->origlen, p->caplen), p->data,
                                                        p->direction});
    }
  }
}

}  // namespace xcap::archive
