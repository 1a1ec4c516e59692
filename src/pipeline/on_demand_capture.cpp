#include "pipeline/on_demand_capture.h"

#include <algorithm>

#include "common/log.h"
#include "decap/link_type.h"
#include "filter/filter_set.h"

namespace xcap::pipeline {

namespace {

// The pipelines stream through the shared fanout and server; xcap serve serves the metrics of
// them all itself.
std::vector<CaptureOptions> pipeline_options(std::vector<CaptureOptions> v) {
  for (CaptureOptions& o : v) o.metrics_addr.clear();
  return v;
}

}  // namespace

OnDemandCapture::OnDemandCapture(std::vector<CaptureOptions> per_interface)
    : opts_(pipeline_options(std::move(per_interface))) {}

Result<std::unique_ptr<OnDemandCapture>> OnDemandCapture::open(
    std::vector<CaptureOptions> per_interface) {
  if (per_interface.empty()) return invalid_input("no interface to serve");
  std::unique_ptr<OnDemandCapture> c(new OnDemandCapture(std::move(per_interface)));
  const bool decap = std::any_of(c->opts_.begin(), c->opts_.end(), [](const CaptureOptions& o) {
    return o.decap != DecapConfig::Mode::None;
  });
  // Interfaces 0..n-1 are the captured interfaces; decapsulation adds mirror sources after them.
  if (decap || c->opts_.size() > 1) {
    const uint32_t ethernet = linktype_value(LinkType::Ethernet);
    c->interfaces_ = std::make_shared<sink::InterfaceTable>(
        sink::InterfaceInfo{c->opts_.front().iface, ethernet});
    for (size_t i = 1; i < c->opts_.size(); i++) c->interfaces_->add(c->opts_[i].iface, ethernet);
  }
  sink::fanout::FanoutConfig fc;
  fc.workers = 0;
  for (const CaptureOptions& o : c->opts_) fc.workers += unsigned(o.queues.size());
  fc.interfaces = c->interfaces_;
  fc.iface0 = c->opts_.front().iface;
  auto f = sink::fanout::Fanout::open(fc);
  if (!f) return f.error();
  c->fanout_ = std::move(f.value());
  c->fanout_->start();
  return c;
}

OnDemandCapture::~OnDemandCapture() {
  stop("end: server stopping");
}

void OnDemandCapture::exclude_self(const std::string& address, uint16_t port) {
  std::lock_guard lock(mu_);
  self_address_ = address;
  self_port_ = port;
}

Result<void> OnDemandCapture::start_capture_locked() {
  unsigned first_producer = 0;
  for (size_t i = 0; i < opts_.size(); i++) {
    SharedStream shared;
    shared.fanout = fanout_.get();
    shared.first_producer = first_producer;
    shared.interfaces = interfaces_;
    shared.iface_id = uint32_t(i);
    shared.self_address = self_address_;
    shared.self_port = self_port_;
    StartStep step;
    auto p = Pipeline::start(opts_[i], &step, &shared);
    if (!p) {
      stop_capture_locked();
      return p.error().context("capturing on " + opts_[i].iface);
    }
    live_.push_back(std::move(p.value()));
    first_producer += unsigned(opts_[i].queues.size());
  }
  log_info("a client subscribed: capturing on %zu interface(s)", live_.size());
  return ok();
}

void OnDemandCapture::stop_capture_locked() {
  if (live_.empty()) return;
  for (auto& p : live_) p->stop();  // XDP detached first, then the workers drained
  live_.clear();
  union_.clear();
  log_info("no client subscribed: the XDP program is detached");
}

// The union of the subscribers' filters at XDP: a subscriber without a filter takes every
// frame, so then there is none. Failing to install one only costs CPU: the subscriptions
// filter for themselves.
void OnDemandCapture::update_filter_locked() {
  std::vector<std::string> exprs;
  for (const auto& s : fanout_->subscriptions()) {
    const auto& f = s->config().filter;
    if (!f) {
      exprs.clear();
      break;
    }
    if (std::find(exprs.begin(), exprs.end(), f->expression()) == exprs.end())
      exprs.push_back(f->expression());
  }
  std::string expr;
  for (const std::string& e : exprs) expr += (expr.empty() ? "(" : " or (") + e + ")";
  if (expr == union_) return;
  std::optional<FilterSet> set;
  if (!expr.empty()) {
    auto compiled = FilterSet::compile(expr, defaults::kSnaplen);
    if (compiled)
      set.emplace(std::move(compiled.value()));
    else
      log_info("subscribers' union filter: %s", compiled.error().message.c_str());
  }
  for (auto& p : live_) {
    auto r = p->replace_kernel_filter(set ? set->ethernet().instructions()
                                          : std::span<const CbpfInsn>());
    if (!r)
      log_info("kernel filter left out (every frame goes to the subscribers' own filters): %s",
               r.error().message.c_str());
  }
  union_ = set ? expr : "";
  log_debug("XDP filter now: %s", union_.empty() ? "none" : union_.c_str());
}

Result<std::shared_ptr<sink::fanout::Subscription>> OnDemandCapture::subscribe(
    sink::fanout::SubscriptionConfig cfg) {
  std::lock_guard lock(mu_);
  if (stopped_) return make_error(ErrorKind::Busy, "the server is stopping");
  // Subscribed first: it receives from the capture's first frame.
  auto s = fanout_->subscribe(std::move(cfg));
  if (!s) return s.error();
  if (live_.empty()) {
    if (auto r = start_capture_locked(); !r) {
      log_error("cannot start capturing for a client: %s", r.error().message.c_str());
      fanout_->unsubscribe(*s, "end: error: " + r.error().message);
      return r.error();
    }
  }
  update_filter_locked();
  return s;
}

void OnDemandCapture::unsubscribe(const std::shared_ptr<sink::fanout::Subscription>& s,
                                  const std::string& why) {
  std::lock_guard lock(mu_);
  fanout_->unsubscribe(s, why);
  if (fanout_->subscriptions().empty())
    stop_capture_locked();
  else
    update_filter_locked();
}

std::vector<std::shared_ptr<sink::fanout::Subscription>> OnDemandCapture::subscriptions() const {
  return fanout_->subscriptions();
}

bool OnDemandCapture::capturing() const {
  std::lock_guard lock(mu_);
  return !live_.empty();
}

void OnDemandCapture::stop(const std::string& why) {
  std::lock_guard lock(mu_);
  if (stopped_) return;
  stopped_ = true;
  stop_capture_locked();
  fanout_->stop(why);
}

std::vector<metrics::CaptureSnapshot> OnDemandCapture::snapshots() const {
  std::lock_guard lock(mu_);
  std::vector<metrics::CaptureSnapshot> out;
  for (const auto& p : live_) out.push_back(p->snapshot());
  if (out.empty()) out.emplace_back().input = opts_.front().iface;
  metrics::CaptureSnapshot& first = out.front();
  first.stream = true;
  first.streams.active = fanout_->subscriptions().size();
  first.streams.handoff_drops = fanout_->handoff_drops();
  return out;
}

}  // namespace xcap::pipeline
