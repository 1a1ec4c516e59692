// LiveFramesSender: owns the loaded xcap_gen BPF skeleton and turns "send N frames" into
// bpf_prog_test_run_opts(BPF_F_TEST_XDP_LIVE_FRAMES) calls. XDP_TX from a live-frames run
// transmits out of the interface named as ingress, so the frames arrive on a veth's peer.
// Nothing is pinned: it works inside `ip netns exec`, where /sys/fs/bpf is absent.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/frame_builder.h"
#include "common/result.h"
#include "templates.h"

struct xcap_gen_bpf;  // the generated skeleton; kept out of this header (see pcap_frames.h)

namespace xcap::gen {

struct SenderConfig {
  int ifindex = 0;
  StampPlan stamp;              // template mode: where to stamp sequence numbers
  uint32_t replay_slots = 0;    // replay mode when non-zero: frames the map holds at once
  uint32_t replay_max_len = 0;  // replay mode: longest frame
  uint32_t batch_size = 0;      // frames per kernel batch (1..256, 0 = kernel default 64)
};

class LiveFramesSender {
 public:
  static Result<std::unique_ptr<LiveFramesSender>> open(const SenderConfig& config);
  ~LiveFramesSender();
  LiveFramesSender(const LiveFramesSender&) = delete;
  LiveFramesSender& operator=(const LiveFramesSender&) = delete;

  // Template mode: runs the program `repeat` times over `frame`. Replay mode: sends the next
  // `repeat` frames of the loaded window, wrapping around (the frame argument is ignored).
  // Returns 0, or -errno when the call failed (then none or only some frames went). A plain
  // int: this runs thousands of times a second, and the loop only counts failures.
  int send(const Bytes& frame, uint32_t repeat);

  // Replay mode: puts frames[first, first + n) into slots 0..n-1 (n <= replay_slots); runs
  // cycle through those n slots.
  void load_replay(const std::vector<Bytes>& frames, size_t first, size_t n);
  // Replay mode: the slot the next run sends.
  void seek_replay(uint32_t slot);

  // Counted by the program itself: frames handed to the driver, and replay runs that failed.
  uint64_t frames_run() const;
  uint64_t frames_failed() const;

  // True when the program is parked in the XDP dispatcher (cheap calls; see the .cpp).
  bool parked() const { return park_link_fd_ >= 0; }
  const std::string& park_note() const { return park_note_; }  // why not parked

 private:
  explicit LiveFramesSender(xcap_gen_bpf* skel) : skel_(skel) {}
  void park_in_dispatcher();

  xcap_gen_bpf* skel_;
  int prog_fd_ = -1;
  int ifindex_ = 0;
  uint32_t batch_size_ = 0;
  int park_link_fd_ = -1;
  std::string park_note_;
  uint8_t* replay_mem_ = nullptr;  // the replay map, mmapped
  size_t replay_mem_len_ = 0;
  size_t replay_slot_len_ = 0;
  Bytes replay_seed_;  // what the test run is given in replay mode; each run overwrites it
};

}  // namespace xcap::gen
