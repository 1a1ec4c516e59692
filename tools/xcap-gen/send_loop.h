// The send loop of xcap-gen: sends one template frame over and over, or a pcap file's frames
// in order (once, or in passes) through the replay map; paces, prints progress, and stops on
// the count, the end of the passes, or SIGINT/SIGTERM.
#pragma once

#include <cstdint>
#include <vector>

#include "common/frame_builder.h"
#include "live_frames_sender.h"

namespace xcap::gen {

struct SendPlan {
  std::vector<Bytes> frames;  // template: the one frame; replay: the file's frames in order
  bool replay = false;        // send `frames` through the sender's replay map
  size_t window = 0;          // replay: frames the map holds at once (the sender's slots)
  uint64_t passes = 0;        // replay: times through `frames`; 0 = no limit
  uint64_t count = 0;         // frames to send in all; 0 = no limit
  uint64_t rate = 0;          // frames per second; 0 = as fast as possible
  bool progress = true;       // a line on stderr every second
};

struct SendStats {
  uint64_t sent = 0;       // frames the program handed to the driver
  uint64_t bytes = 0;      // Ethernet bytes of those frames (no preamble, no FCS)
  uint64_t failed = 0;     // frames not sent: their kernel call failed, or (replay) their run
  int64_t elapsed_ns = 0;  // from the first call to the end of the last
  int first_error = 0;     // errno of the first failed call
  bool fatal = false;      // gave up: nothing ever went, or too many calls in a row failed
};

// Blocks SIGINT and SIGTERM for the caller: the loop polls for them between calls, so a
// kernel call is never interrupted half done and the counts stay exact.
void block_stop_signals();

SendStats run_send_loop(LiveFramesSender& sender, const SendPlan& plan);

}  // namespace xcap::gen
