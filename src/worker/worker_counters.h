// WorkerCounters: what one worker counts. Only its worker writes; the metrics scrape and the
// stats line read them from elsewhere.
#pragma once

#include "common/single_writer_counter.h"

namespace xcap::worker {

using Counter = SingleWriterCounter;

struct WorkerCounters {
  Counter rx_packets;  // frames taken from the AF_XDP RX ring
  Counter rx_bytes;
  Counter filter_excluded;  // not selected by -f, after decapsulation
  Counter delivered;        // handed to the sinks (or counted, in rate-check mode)
  Counter over_limit;       // arrived after -c COUNT was reached: not captured, not a loss
  Counter batches;          // non-empty batches: rx_packets / batches is the mean batch size
};

}  // namespace xcap::worker
