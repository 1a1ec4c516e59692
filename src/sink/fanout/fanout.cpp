#include "sink/fanout/fanout.h"

#include <algorithm>
#include <chrono>

#include "common/tai_clock.h"
#include "sink/fanout/raw_record.h"

namespace xcap::sink::fanout {
namespace {

constexpr auto kIdleSleep = std::chrono::milliseconds(1);
constexpr uint64_t kTickNs = 1'000'000'000;

}  // namespace

// ---- producer (one worker's thread) ----------------------------------------------------------

FanoutProducer::FanoutProducer(const Fanout& fanout, unsigned blocks)
    : fanout_(fanout), blocks_(blocks), full_(blocks), free_(blocks) {}

bool FanoutProducer::next_block() {
  if (cur_ && cur_->used) {
    if (!full_.try_push(cur_)) return false;  // cannot happen: full_ holds every block
    cur_ = nullptr;
  }
  if (!cur_ && !free_.try_pop(cur_)) return false;
  cur_->reset();
  return true;
}

void FanoutProducer::append(std::span<const PacketView> batch) {
  if (!fanout_.active()) return;  // nobody listens: nothing is copied
  const uint32_t snaplen = fanout_.snaplen();
  for (const PacketView& p : batch) {
    const uint32_t caplen = std::min(p.caplen, snaplen);
    const size_t n = raw_record_bytes(caplen);
    if (n > fanout_.block_bytes() || ((!cur_ || cur_->room() < n) && !next_block())) {
      drop();
      continue;
    }
    cur_->used += encode_raw_record(cur_->data + cur_->used, p, caplen);
    cur_->records++;
  }
}

void FanoutProducer::flush_if_idle(uint64_t now_ns) {
  if (!cur_ || !cur_->used) return;
  if (!cur_->flush_armed) {
    cur_->flush_armed = true;
    cur_->flush_start_ns = now_ns;
    return;
  }
  if (now_ns - cur_->flush_start_ns >= fanout_.flush_ns()) seal();
}

void FanoutProducer::seal() {
  if (cur_ && cur_->used && full_.try_push(cur_)) cur_ = nullptr;
}

// ---- fanout ------------------------------------------------------------------------------------

Fanout::Fanout(const FanoutConfig& cfg) : cfg_(cfg) {}

Result<std::unique_ptr<Fanout>> Fanout::open(const FanoutConfig& cfg) {
  std::unique_ptr<Fanout> f(new Fanout(cfg));
  for (unsigned w = 0; w < cfg.workers; w++) {
    std::unique_ptr<FanoutProducer> p(new FanoutProducer(*f, cfg.blocks_per_worker));
    if (auto r = p->arena_.allocate(cfg.block_bytes * cfg.blocks_per_worker); !r)
      return r.error().context("streaming hand-off blocks");
    for (unsigned i = 0; i < cfg.blocks_per_worker; i++) {
      RecordBlock& b = p->blocks_[i];
      b.data = p->arena_.base() + size_t(i) * cfg.block_bytes;
      b.capacity = cfg.block_bytes;
      p->free_.try_push(&b);
    }
    f->producers_.push_back(std::move(p));
  }
  return f;
}

Fanout::~Fanout() {
  stop("end: server stopping");
}

void Fanout::publish_locked() {
  uint32_t snap = 0;
  for (const auto& s : subs_) snap = std::max(snap, s->config().snaplen);
  snaplen_.store(snap, std::memory_order_release);
  active_.store(!subs_.empty(), std::memory_order_release);
  subs_version_++;
}

Result<std::shared_ptr<Subscription>> Fanout::subscribe(SubscriptionConfig cfg) {
  auto s = std::make_shared<Subscription>(std::move(cfg), cfg_.interfaces, cfg_.iface0);
  std::lock_guard lock(mu_);
  // After stop nothing would ever end the stream: its client would wait forever. stop() sets
  // stopping_ before it ends subs_ under mu_, so a subscription added here is always ended.
  if (stopping_.load(std::memory_order_acquire))
    return make_error(ErrorKind::System, "the capture is stopping");
  subs_.push_back(s);
  publish_locked();
  return s;
}

void Fanout::unsubscribe(const std::shared_ptr<Subscription>& s, const std::string& why) {
  std::lock_guard lock(mu_);
  const auto it = std::find(subs_.begin(), subs_.end(), s);
  if (it == subs_.end()) return;
  subs_.erase(it);
  closing_.emplace_back(s, why);
  publish_locked();
}

std::vector<std::shared_ptr<Subscription>> Fanout::subscriptions() const {
  std::lock_guard lock(mu_);
  return subs_;
}

uint64_t Fanout::handoff_drops() const {
  uint64_t n = 0;
  for (const auto& p : producers_) n += p->handoff_drops();
  return n;
}

void Fanout::start() {
  thread_ = std::thread([this] { run(); });
}

void Fanout::stop(const std::string& why) {
  if (stopping_.exchange(true)) return;
  if (thread_.joinable()) thread_.join();
  // The fanout thread is gone: this thread may write the subscriptions now.
  const uint64_t now = realtime_ns();
  std::lock_guard lock(mu_);
  for (auto& [s, reason] : closing_) s->finish(reason, now, handoff_drops());
  for (const auto& s : subs_) s->finish(why, now, handoff_drops());
  closing_.clear();
}

size_t Fanout::deliver(const std::vector<std::shared_ptr<Subscription>>& subs, uint64_t now_ns) {
  size_t blocks = 0;
  for (const auto& p : producers_) {
    RecordBlock* b = nullptr;
    while (p->full_.try_pop(b)) {
      for (const auto& s : subs) s->offer(b->data, b->used, now_ns);
      b->reset();
      p->free_.try_push(b);
      blocks++;
    }
  }
  return blocks;
}

void Fanout::run() {
  std::vector<std::shared_ptr<Subscription>> subs;
  uint64_t version = ~uint64_t{0}, next_tick = 0;
  for (;;) {
    const bool stopping = stopping_.load(std::memory_order_acquire);
    std::vector<std::pair<std::shared_ptr<Subscription>, std::string>> closing;
    {
      std::lock_guard lock(mu_);
      if (version != subs_version_) subs = subs_, version = subs_version_;
      closing.swap(closing_);
    }
    const uint64_t now = realtime_ns();
    for (auto& [s, why] : closing) s->finish(why, now, handoff_drops());
    const size_t handled = deliver(subs, now);
    if (now >= next_tick) {
      for (const auto& s : subs) s->tick(now, handoff_drops());
      next_tick = now + kTickNs;
    }
    if (stopping) break;  // one last pass after the producers sealed
    if (!handled) std::this_thread::sleep_for(kIdleSleep);
  }
}

}  // namespace xcap::sink::fanout
