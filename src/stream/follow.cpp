#include "stream/follow.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <variant>

#include "stream/pcapng_stream_reader.h"
#include "stream/stream_merger.h"
#include "stream/target_stream.h"

namespace xcap::stream {

namespace {

using Clock = std::chrono::steady_clock;

void status(const std::string& target, const std::string& event) {
  fprintf(stderr, "%s: %s\n", target.c_str(), event.c_str());
}

// "cleared: this client lost 12 packets while congested (40 in all)" -> 12.
std::optional<uint64_t> lost_in(const std::string& comment) {
  const auto at = comment.find("lost ");
  if (at == std::string::npos) return std::nullopt;
  char* end = nullptr;
  const unsigned long long n = strtoull(comment.c_str() + at + 5, &end, 10);
  if (end == comment.c_str() + at + 5) return std::nullopt;
  return n;
}

// One target's stream as the merge sees it.
struct Followed {
  uint32_t index = 0;
  TargetOutcome outcome;
  PcapngStreamReader reader;
  std::vector<uint32_t> out_iface;      // server interface id (this section) -> output id
  std::map<uint32_t, uint64_t> osdrop;  // server interface id -> its latest isb_osdrop
  uint64_t dropped_before_section = 0;  // osdrop of earlier sections
  std::string end_comment;              // the last "end: ..." statistics comment
  bool done = false;
  std::shared_ptr<TargetStream> stream;
};

class Follower {
 public:
  Follower(const FollowSettings& s, MergedOutput& out)
      : s_(s),
        out_(out),
        merger_(s.reorder_window_ns, std::chrono::nanoseconds(s.reorder_window_ns)),
        release_timer_(io_),
        signals_(io_, SIGINT, SIGTERM) {}

  Result<FollowResult> run() {
    std::shared_ptr<asio::ssl::context> tls;
    for (const Target& t : s_.targets)
      if (t.tls && !tls) {
        auto ctx = make_tls_context(s_.tls);
        if (!ctx) return ctx.error();
        tls = *ctx;
      }
    for (size_t i = 0; i < s_.targets.size(); i++) {
      auto f = std::make_unique<Followed>();
      f->index = static_cast<uint32_t>(i);
      f->outcome.name = s_.targets[i].name;
      followed_.push_back(std::move(f));
    }
    for (auto& f : followed_) {
      Followed* p = f.get();
      const Target& t = s_.targets[p->index];
      TargetStreamCallbacks cb;
      cb.connected = [p] { status(p->outcome.name, "connected"); };
      cb.body = [this, p](const uint8_t* d, size_t n) { return on_body(*p, d, n); };
      cb.ended = [this, p](const StreamEnd& e) { on_end(*p, e); };
      p->stream = std::make_shared<TargetStream>(io_, t, tls, t.path + "?" + s_.query, s_.token,
                                                 s_.idle_timeout, std::move(cb));
    }
    wait_for_signal();
    for (auto& f : followed_) f->stream->start();
    io_.run();

    merger_.release_all([this](const MergedRecord& r) { write(r); });
    if (auto c = out_.close(); !c && !output_error_) output_error_ = c.error();
    FollowResult res;
    for (auto& f : followed_) {
      f->outcome.late = merger_.late(f->index);
      res.targets.push_back(f->outcome);
    }
    res.output_error = output_error_;
    return res;
  }

 private:
  void wait_for_signal() {
    signals_.async_wait([this](boost::system::error_code ec, int) {
      if (ec) return;
      if (!stopping_) {
        stopping_ = true;
        for (auto& f : followed_) f->stream->stop(s_.stop_wait);
      } else {
        for (auto& f : followed_) f->stream->cut("stopped at once (second signal)");
      }
      wait_for_signal();
    });
  }

  void write(const MergedRecord& r) {
    if (output_error_) return;
    if (auto w = out_.write(r.bytes); !w) fail_output(w.error());
  }

  void fail_output(const Error& e) {
    if (output_error_) return;
    output_error_ = e;
    for (auto& f : followed_) f->stream->cut("the output failed");
  }

  void release() {
    merger_.release(Clock::now(), [this](const MergedRecord& r) { write(r); });
    if (!output_error_) {
      if (auto fl = out_.flush(); !fl) fail_output(fl.error());
    }
    arm_release_timer();
  }

  void arm_release_timer() {
    if (timer_armed_) return;
    const auto due = merger_.next_due();
    if (!due) return;
    timer_armed_ = true;
    release_timer_.expires_at(*due);
    release_timer_.async_wait([this](boost::system::error_code ec) {
      timer_armed_ = false;
      if (!ec) release();
    });
  }

  std::string on_body(Followed& f, const uint8_t* data, size_t n) {
    f.reader.feed(data, n);
    const auto now = Clock::now();
    while (auto next = f.reader.next()) {
      if (!*next) return next->error().message;
      if (std::string bad = on_block(f, **next, now); !bad.empty()) return bad;
    }
    release();
    return "";
  }

  std::string on_block(Followed& f, const StreamBlock& block, Clock::time_point now) {
    const std::string& name = f.outcome.name;
    if (std::holds_alternative<SectionBlock>(block)) {
      for (const auto& [id, n] : f.osdrop) f.dropped_before_section += n;
      f.osdrop.clear();
      f.out_iface.clear();
    } else if (const auto* i = std::get_if<InterfaceBlock>(&block)) {
      const std::string label = name + "/" + (i->name.empty() ? std::to_string(i->id) : i->name);
      auto id = out_.add_interface(label, i->link_type, i->snaplen);
      if (!id) return id.error().message;
      f.out_iface.push_back(*id);
    } else if (const auto* p = std::get_if<PacketBlock>(&block)) {
      f.outcome.packets++;
      merger_.push_packet(f.index, p->ts_ns,
                          out_.encode_packet(f.out_iface[p->iface], p->ts_ns, p->caplen, p->origlen,
                                             p->data, p->direction),
                          now);
    } else if (const auto* st = std::get_if<StatisticsBlock>(&block)) {
      if (st->counters.osdrop) f.osdrop[st->iface] = *st->counters.osdrop;
      f.outcome.server_dropped = f.dropped_before_section;
      for (const auto& [id, d] : f.osdrop) f.outcome.server_dropped += d;
      const std::string& c = st->comment;
      if (c.rfind("congested until the end", 0) == 0)
        status(name,
               "congested until the end (" + std::to_string(lost_in(c).value_or(0)) + " lost)");
      else if (c.rfind("congested", 0) == 0)
        status(name, "congested (" + std::to_string(st->counters.osdrop.value_or(0)) + " lost)");
      else if (c.rfind("cleared", 0) == 0)
        status(name, "cleared (" + std::to_string(lost_in(c).value_or(0)) + " lost)");
      else if (c.rfind("end:", 0) == 0)
        f.end_comment = c;
      std::vector<uint8_t> bytes =
          out_.encode_statistics(f.out_iface[st->iface], st->ts_ns, st->counters, c);
      if (!bytes.empty()) merger_.push_status(f.index, std::move(bytes), now);
    }
    return "";
  }

  void on_end(Followed& f, const StreamEnd& e) {
    f.done = true;
    std::string ended;
    switch (e.kind) {
      case StreamEnd::Kind::Complete:
        ended = "finished (" + (f.end_comment.empty() ? "stream ended" : f.end_comment) + ")";
        break;
      case StreamEnd::Kind::Stopped:
        ended = "stopped (" + e.reason + ")";
        break;
      case StreamEnd::Kind::Failed:
        ended = "failed (" + e.reason + ")";
        f.outcome.failed = true;
        break;
    }
    f.outcome.ended = ended;
    status(f.outcome.name, ended);
    release();
    bool all = true;
    for (auto& g : followed_) all = all && g->done;
    if (all) {  // nothing more will come: let io_.run() return
      boost::system::error_code ignored;
      signals_.cancel(ignored);
      release_timer_.cancel();
    }
  }

  const FollowSettings& s_;
  MergedOutput& out_;
  asio::io_context io_;
  StreamMerger merger_;
  asio::steady_timer release_timer_;
  asio::signal_set signals_;
  bool timer_armed_ = false, stopping_ = false;
  std::optional<Error> output_error_;
  std::vector<std::unique_ptr<Followed>> followed_;
};

}  // namespace

Result<FollowResult> follow_targets(const FollowSettings& settings, MergedOutput& output) {
  Follower f(settings, output);
  return f.run();
}

std::string summary_line(const TargetOutcome& t) {
  return t.name + ": " + std::to_string(t.packets) + " packets received, " +
         std::to_string(t.server_dropped) + " dropped by the server for this client, " +
         std::to_string(t.late) + " late; " + t.ended;
}

}  // namespace xcap::stream
