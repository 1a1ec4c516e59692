// wait_until: polls a condition every millisecond until it holds (true) or limit passes (false),
// for tests that wait on another thread.
#pragma once

#include <chrono>
#include <functional>

namespace xcap::test {

bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(5));

}  // namespace xcap::test
