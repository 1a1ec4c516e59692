// --threads N: N senders, each with its own live-frames program and pinned to its own core,
// share the count and the rate. On a veth pair with N queues, what CPU c sends arrives on rx
// queue c % N, so N senders feed N queues (bench/compare --queues).
#pragma once

#include "common/result.h"
#include "live_frames_sender.h"
#include "send_loop.h"

namespace xcap::gen {

// Opens `threads` senders (an error leaves none running), runs them, and adds up their stats
// (elapsed: the longest). The caller has blocked SIGINT/SIGTERM: every sender stops on them.
Result<SendStats> run_parallel(const SenderConfig& config, const SendPlan& plan, unsigned threads,
                               unsigned first_cpu);

}  // namespace xcap::gen
