// The second step of `xcap capture`, after parsing: what the host says. The interface must
// exist; --queues is checked against the queues it has; --frame-size auto picks by its MTU.
// Parsing (capture_options.h) never touches the system; this step only reads it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/result.h"
#include "pipeline/capture_options.h"

namespace xcap::cli {

// Fills CaptureOptions' environment fields (ifindex, queues, MTU, frame size). Nothing to do
// for a replay (-r). Errors name the flag: "-i: interface 'eth9' not found".
Result<void> resolve_capture_environment(pipeline::CaptureOptions& o);

// --mode local: -i all becomes every interface that is up, loopback aside (sorted by name);
// other names stay as given. Error when "all" finds none.
Result<std::vector<std::string>> expand_local_interfaces(const std::vector<std::string>& names);

// "all" or "0,2-3" against an interface with n rx queues.
Result<std::vector<uint32_t>> parse_queue_list(const std::string& spec, uint32_t n_queues);

// The smallest UMEM frame that holds the interface's largest frame (above 3,840 bytes, 4096:
// AF_XDP multi-buffer then chains a frame over several). A smaller UMEM is a smaller cache
// footprint for the kernel's copy into it (README "Tuning"). In copy mode the packet starts
// after source::kXdpPacketHeadroom; a frame is MTU + source::kL2Overhead.
uint32_t frame_size_for_mtu(uint32_t mtu);
uint32_t interface_mtu(const std::string& ifname);        // 0 if unknown
uint32_t interface_rx_queues(const std::string& ifname);  // from sysfs; 1 if unknown

}  // namespace xcap::cli
