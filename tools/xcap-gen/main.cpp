// xcap-gen: the lab traffic generator. Builds or reads the frames, loads the live-frames
// sender on the interface, runs the send loop and prints the one summary line scripts parse.
#include <net/if.h>

#include <cstdio>
#include <cstring>

#include "live_frames_sender.h"
#include "options.h"
#include "pcap_frames.h"
#include "send_loop.h"
#include "templates.h"

using namespace xcap::gen;

namespace {

constexpr size_t kMaxFrame = 3400;  // what one live-frames page holds, with room to spare

int fail(const std::string& message) {
  fprintf(stderr, "xcap-gen: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  ParseOutcome parsed = parse_options(argc, argv);
  if (!parsed.options) return parsed.exit_code;
  const GenOptions& o = *parsed.options;

  int ifindex = int(if_nametoindex(o.iface.c_str()));
  if (ifindex == 0) return fail("interface '" + o.iface + "' not found");

  SendPlan plan;
  plan.count = o.count;
  plan.rate = o.rate;
  plan.progress = !o.quiet;
  StampPlan stamp;
  uint64_t skipped = 0;
  if (o.pcap.empty()) {
    auto t = build_template(o.spec);
    if (!t) return fail(t.error().message);
    plan.frames.push_back(std::move(t->bytes));
    stamp = t->stamp;
    if (!o.quiet) {
      fprintf(stderr, "xcap-gen: %s template, %zu-byte frames, out of %s (ifindex %d)",
              o.template_name.c_str(), o.spec.size, o.iface.c_str(), ifindex);
      if (stamp.seq_offset)
        fprintf(stderr, ", seq (u32 big-endian, from 0) at offset %u", stamp.seq_offset);
      fprintf(stderr, "\n");
    }
  } else {
    auto frames = read_pcap_frames(o.pcap, kMaxFrame);
    if (!frames) return fail(frames.error().message);
    skipped = frames->skipped;
    plan.frames = std::move(frames->frames);
    plan.passes = o.loop;
    if (plan.frames.empty())
      return fail("--pcap " + o.pcap + ": no frames to send (" + std::to_string(skipped) +
                  " skipped)");
    if (!o.quiet)
      fprintf(stderr, "xcap-gen: %zu frames from %s (%llu skipped), out of %s (ifindex %d)\n",
              plan.frames.size(), o.pcap.c_str(), (unsigned long long)skipped, o.iface.c_str(),
              ifindex);
  }

  auto sender = LiveFramesSender::open(ifindex, stamp, o.batch_size);
  if (!sender) return fail(sender.error().message);

  block_stop_signals();
  SendStats st = run_send_loop(**sender, plan);

  double secs = double(st.elapsed_ns) / 1e9;
  double rate = secs > 0 ? st.sent / secs : 0, bits = secs > 0 ? st.bytes * 8 / secs : 0;
  printf("xcap-gen: sent %llu frames in %.3f s (%.3f Mpps, %.3f Gbit/s)",
         (unsigned long long)st.sent, secs, rate / 1e6, bits / 1e9);
  if (st.failed) printf(", failed %llu", (unsigned long long)st.failed);
  if (skipped) printf(", skipped %llu", (unsigned long long)skipped);
  printf("\n");
  fflush(stdout);
  if (st.first_error) {
    fprintf(stderr, "xcap-gen: bpf_prog_test_run (live frames) on %s failed: %s%s\n",
            o.iface.c_str(), strerror(st.first_error), st.fatal ? "; giving up" : "");
    return 1;
  }
  return 0;
}
