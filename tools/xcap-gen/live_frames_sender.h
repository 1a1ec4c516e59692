// LiveFramesSender: owns the loaded xcap_gen BPF skeleton and turns "send this frame N times"
// into bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) calls. XDP_TX from a live-frames run
// transmits out of the interface named as ingress, so the frames arrive on a veth's peer.
// Nothing is attached or pinned: it works inside `ip netns exec`, where /sys/fs/bpf is absent.
#pragma once

#include <cstdint>
#include <memory>

#include "common/frame_builder.h"
#include "common/result.h"
#include "templates.h"

struct xcap_gen_bpf;  // the generated skeleton; kept out of this header (see pcap_frames.h)

namespace xcap::gen {

class LiveFramesSender {
 public:
  // Loads the program with the stamp plan baked into .rodata. batch_size: frames per kernel
  // batch (1..256, 0 = the kernel default of 64).
  static Result<std::unique_ptr<LiveFramesSender>> open(int ifindex, const StampPlan& stamp,
                                                        uint32_t batch_size);
  ~LiveFramesSender();
  LiveFramesSender(const LiveFramesSender&) = delete;
  LiveFramesSender& operator=(const LiveFramesSender&) = delete;

  // Runs the program `repeat` times over `frame`. Returns 0, or -errno when the call failed
  // (then none or only part of the repetitions ran; frames_run() says how many).
  int send(const Bytes& frame, uint32_t repeat);

  // Program runs so far, counted by the program itself; equals frames handed to the driver.
  uint64_t frames_run() const;

 private:
  LiveFramesSender(xcap_gen_bpf* skel, int ifindex, uint32_t batch_size)
      : skel_(skel), ifindex_(ifindex), batch_size_(batch_size) {}
  xcap_gen_bpf* skel_;
  int prog_fd_ = -1;
  int ifindex_;
  uint32_t batch_size_;
};

}  // namespace xcap::gen
