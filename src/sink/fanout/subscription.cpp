#include "sink/fanout/subscription.h"

#include "sink/fanout/raw_record.h"
#include "sink/file/pcap_format.h"

namespace xcap::sink::fanout {
namespace {
constexpr uint32_t kLinkEthernet = 1;
}  // namespace

Subscription::Subscription(SubscriptionConfig cfg, std::shared_ptr<const InterfaceTable> interfaces,
                           std::string iface0)
    : cfg_(std::move(cfg)), interfaces_(std::move(interfaces)), iface0_(std::move(iface0)) {
  std::vector<uint8_t> head =
      cfg_.pcapng ? pcapng_section_header() : pcap_file_header(cfg_.snaplen, kLinkEthernet);
  push(head, SIZE_MAX);
}

void Subscription::push(std::vector<uint8_t>& bytes, size_t limit) {
  if (bytes.empty()) return;
  {
    std::lock_guard lock(mu_);
    if (buffered_ + bytes.size() > limit) return;
    buffered_ += bytes.size();
    chunks_.push_back(std::move(bytes));
  }
  bytes = {};
  cv_.notify_one();
}

void Subscription::add_interfaces(uint32_t up_to) {
  for (; idbs_ <= up_to; idbs_++) {
    if (interfaces_ && idbs_ < interfaces_->published()) {
      const InterfaceInfo& i = interfaces_->at(idbs_);
      append_pcapng_interface(staging_, i.name, cfg_.snaplen, i.link_type);
    } else {
      append_pcapng_interface(staging_, idbs_ == 0 ? iface0_ : "", cfg_.snaplen, kLinkEthernet);
    }
  }
}

void Subscription::encode(const PacketView& v) {
  const RecordLengths len = record_lengths(v, cfg_.snaplen);
  const size_t at = staging_.size();
  if (cfg_.pcapng) {
    if (v.iface_id >= idbs_) add_interfaces(v.iface_id);
    const size_t rec_at = staging_.size();
    staging_.resize(rec_at + pcapng_record_bytes(len.caplen, v.direction));
    encode_pcapng_record(staging_.data() + rec_at, v, len);
  } else {
    staging_.resize(at + pcap_record_bytes(len.caplen));
    encode_pcap_record(staging_.data() + at, v, len);
  }
}

void Subscription::offer(const uint8_t* records, size_t bytes, uint64_t now_ns) {
  if (finished_) return;
  size_t room;
  SubscriptionStats s;
  {
    std::lock_guard lock(mu_);
    room = buffered_ < cfg_.buffer_bytes ? cfg_.buffer_bytes - buffered_ : 0;
    s = stats_;
  }
  const uint64_t dropped_before = s.dropped;
  // Record bytes staged: what room limits. Interface descriptions are not counted: each is
  // written once per stream, and a stream must have it even when the record that needed it
  // is dropped, or every later record of that interface would point at nothing.
  size_t kept = 0;
  for (size_t off = 0; off < bytes;) {
    size_t n = 0;
    const PacketView v = decode_raw_record(records + off, &n);
    off += n;
    s.offered++;
    if (cfg_.filter &&
        !cfg_.filter->matches(static_cast<LinkType>(v.link_type), v.data, v.caplen, v.wire_len))
      continue;
    if (!cfg_.pcapng && v.link_type != kLinkEthernet) continue;  // pcap: one link type
    s.matched++;
    if (cfg_.count && s.delivered >= cfg_.count) break;
    if (cfg_.pcapng && v.iface_id >= idbs_) add_interfaces(v.iface_id);
    const size_t before = staging_.size();
    encode(v);
    const size_t record = staging_.size() - before;
    if (kept + record > room) {  // the client's buffer is full: this client loses it
      staging_.resize(before);
      s.dropped++;
      continue;
    }
    kept += record;
    s.delivered++;
  }
  const bool newly_congested = s.dropped > stats_.dropped && !stats_.congested;
  // Never refused: the records fit in room (the connection only ever frees some), and the
  // descriptions beyond it are bounded by the number of interfaces.
  push(staging_, SIZE_MAX);
  staging_.clear();
  {
    std::lock_guard lock(mu_);
    s.congested = stats_.congested || newly_congested;
    if (newly_congested) s.congestions++;
    stats_ = s;
  }
  if (newly_congested) {
    dropped_at_congestion_ = dropped_before;
    status("congested: this client's buffer (" + std::to_string(cfg_.buffer_bytes >> 20) +
               " MiB) is full; packets are dropped for this client only",
           now_ns, 0);
  }
}

void Subscription::status(const std::string& comment, uint64_t now_ns, uint64_t upstream_drops) {
  if (!cfg_.pcapng) return;
  const SubscriptionStats s = stats();
  InterfaceStatistics isb;
  isb.ifrecv = s.offered;
  isb.ifdrop = upstream_drops;
  isb.filteraccept = s.matched;
  isb.osdrop = s.dropped;
  isb.usrdeliv = s.delivered;
  if (idbs_ == 0) add_interfaces(0);
  append_pcapng_statistics(staging_, 0, now_ns, isb, comment);
  push(staging_, cfg_.buffer_bytes + kStatusSlack);
  staging_.clear();
}

std::string Subscription::lost_while_congested(const SubscriptionStats& s) const {
  return "this client lost " + std::to_string(s.dropped - dropped_at_congestion_) +
         " packets while congested (" + std::to_string(s.dropped) + " in all)";
}

void Subscription::tick(uint64_t now_ns, uint64_t upstream_drops) {
  if (finished_) return;
  SubscriptionStats s = stats();
  if (s.congested) {
    bool drained;
    {
      std::lock_guard lock(mu_);
      drained = buffered_ < cfg_.buffer_bytes / 2;
      if (drained) stats_.congested = false;
    }
    if (drained) status("cleared: " + lost_while_congested(s), now_ns, upstream_drops);
  }
  status("", now_ns, upstream_drops);
  if (cfg_.count && s.delivered >= cfg_.count) finish("end: count reached", now_ns, upstream_drops);
}

void Subscription::finish(const std::string& why, uint64_t now_ns, uint64_t upstream_drops) {
  if (finished_) return;
  finished_ = true;
  // A congestion that lasts to the end is reported too, so the counts a client reads in its
  // stream always add up to what it lost.
  const SubscriptionStats s = stats();
  if (s.congested)
    status("congested until the end: " + lost_while_congested(s), now_ns, upstream_drops);
  status(why, now_ns, upstream_drops);
  {
    std::lock_guard lock(mu_);
    done_ = true;
  }
  cv_.notify_all();
}

std::vector<uint8_t> Subscription::take(std::chrono::milliseconds wait) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, wait, [&] { return !chunks_.empty() || done_; });
  std::vector<uint8_t> out;
  while (!chunks_.empty()) {
    std::vector<uint8_t>& c = chunks_.front();
    if (out.empty())
      out = std::move(c);
    else
      out.insert(out.end(), c.begin(), c.end());
    chunks_.pop_front();
  }
  buffered_ -= std::min(buffered_, out.size());
  return out;
}

bool Subscription::done() const {
  std::lock_guard lock(mu_);
  return done_ && chunks_.empty();
}

bool Subscription::ended() const {
  std::lock_guard lock(mu_);
  return done_;
}

SubscriptionStats Subscription::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

}  // namespace xcap::sink::fanout
