// xcap-gen: the lab traffic generator. Builds or reads the frames, loads the live-frames
// sender on the interface, runs the send loop and prints the one summary line scripts parse.
#include <net/if.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "live_frames_sender.h"
#include "options.h"
#include "parallel_send.h"
#include "pcap_frames.h"
#include "send_loop.h"
#include "templates.h"
#include "veth_stats.h"

using namespace xcap::gen;
using xcap::errno_error;
using xcap::Error;
using xcap::ErrorKind;
using xcap::exit_code;
using xcap::make_error;

namespace {

constexpr size_t kMaxFrame = 3400;  // what one live-frames page holds, with room to spare
// Replay map budget: a file larger than this goes through the map a window at a time.
constexpr size_t kReplayMapBytes = 64 << 20;

int fail(const Error& error) {
  fprintf(stderr, "xcap-gen: %s\n", error.message.c_str());
  return exit_code(error);
}

// Says what the veth did with the frames when it was not everything: a sender that drops
// them silently is the most common lab mistake. Another sender on the same veth would blur
// the counts; in the lab there is none.
void report_peer(const std::string& iface, const PeerCounters& before, const PeerCounters& after,
                 uint64_t sent) {
  uint64_t queued = after.queued - before.queued, refused = after.refused - before.refused;
  if (queued + refused < sent)
    fprintf(stderr,
            "xcap-gen: warning: the peer of %s saw only %llu of %llu frames; the rest were "
            "dropped unseen: the peer must be up and run NAPI (an XDP program attached, or "
            "GRO on: ethtool -K PEER gro on)\n",
            iface.c_str(), (unsigned long long)(queued + refused), (unsigned long long)sent);
  if (refused)
    fprintf(stderr,
            "xcap-gen: warning: the peer's queue was full for %llu frames, which were dropped "
            "(the receiver is slower than the sender; lower --rate)\n",
            (unsigned long long)refused);
}

}  // namespace

int main(int argc, char** argv) {
  ParseOutcome parsed = parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const GenOptions& o = *parsed.options;

  int ifindex = int(if_nametoindex(o.iface.c_str()));
  if (ifindex == 0)  // a missing lab is a runtime failure here (exit 1), as --help says
    return fail(make_error(ErrorKind::NotFound, "interface '" + o.iface + "' not found"));

  SendPlan plan;
  plan.count = o.count;
  plan.rate = o.rate;
  plan.progress = !o.quiet;
  SenderConfig config;
  config.ifindex = ifindex;
  config.batch_size = o.batch_size;
  uint64_t skipped = 0;
  if (o.pcap.empty()) {
    auto t = build_template(o.spec);
    if (!t) return fail(t.error());
    plan.frames.push_back(std::move(t->bytes));
    config.stamp = t->stamp;
    if (!o.quiet) {
      fprintf(stderr, "xcap-gen: %s template, %zu-byte frames, out of %s (ifindex %d)",
              o.template_name.c_str(), o.spec.size, o.iface.c_str(), ifindex);
      if (config.stamp.seq_offset)
        fprintf(stderr, ", seq (u32 big-endian, from 0) at offset %u", config.stamp.seq_offset);
      fprintf(stderr, "\n");
    }
  } else {
    auto frames = read_pcap_frames(o.pcap, kMaxFrame);
    if (!frames) return fail(frames.error());
    skipped = frames->skipped;
    plan.frames = std::move(frames->frames);
    plan.passes = o.loop;
    plan.replay = true;
    size_t max_len = 0;
    for (const auto& f : plan.frames) max_len = std::max(max_len, f.size());
    size_t slot = 8 + (max_len + 7) / 8 * 8;
    plan.window = std::min(plan.frames.size(), std::max<size_t>(1, kReplayMapBytes / slot));
    config.replay_slots = uint32_t(plan.window);
    config.replay_max_len = uint32_t(max_len);
    if (plan.frames.empty())
      return fail(make_error(ErrorKind::System, "--pcap " + o.pcap + ": no frames to send (" +
                                                    std::to_string(skipped) + " skipped)"));
    if (!o.quiet)
      fprintf(stderr, "xcap-gen: %zu frames from %s (%llu skipped), out of %s (ifindex %d)\n",
              plan.frames.size(), o.pcap.c_str(), (unsigned long long)skipped, o.iface.c_str(),
              ifindex);
  }

  auto peer_before = read_peer_counters(o.iface);
  SendStats st;
  if (o.threads > 1) {
    block_stop_signals();
    auto all = run_parallel(config, plan, o.threads, o.first_cpu);
    if (!all) return fail(all.error());
    st = *all;
  } else {
    auto sender = LiveFramesSender::open(config);
    if (!sender) return fail(sender.error());
    if (!o.quiet && !(*sender)->parked())
      fprintf(stderr,
              "xcap-gen: not parked in the XDP dispatcher (%s): each kernel call costs "
              "milliseconds, so chunks get larger\n",
              (*sender)->park_note().c_str());
    block_stop_signals();
    st = run_send_loop(**sender, plan);
  }
  auto peer_after = read_peer_counters(o.iface);

  double secs = double(st.elapsed_ns) / 1e9;
  double rate = secs > 0 ? st.sent / secs : 0, bits = secs > 0 ? st.bytes * 8 / secs : 0;
  printf("xcap-gen: sent %llu frames in %.3f s (%.3f Mpps, %.3f Gbit/s)",
         (unsigned long long)st.sent, secs, rate / 1e6, bits / 1e9);
  if (st.failed) printf(", failed %llu", (unsigned long long)st.failed);
  if (skipped) printf(", skipped %llu", (unsigned long long)skipped);
  printf("\n");
  fflush(stdout);
  if (peer_before && peer_after) report_peer(o.iface, *peer_before, *peer_after, st.sent);
  if (st.first_error)
    fprintf(stderr, "xcap-gen: %s%s\n",
            errno_error(st.first_error, "bpf_prog_test_run (live frames) on " + o.iface + " failed")
                .message.c_str(),
            st.fatal ? "; gave up" : "");
  else if (st.failed)
    fprintf(stderr, "xcap-gen: %llu replayed frames could not be rebuilt in the live frame\n",
            (unsigned long long)st.failed);
  return st.first_error || st.failed ? 1 : 0;
}
