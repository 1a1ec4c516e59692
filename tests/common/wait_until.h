// wait_until: polls a condition every `every` (1 ms) until it holds (true) or limit passes
// (false), for tests that wait on another thread or process.
#pragma once

#include <chrono>
#include <functional>

namespace xcap::test {

bool wait_until(const std::function<bool()>& pred,
                std::chrono::milliseconds limit = std::chrono::seconds(5),
                std::chrono::milliseconds every = std::chrono::milliseconds(1));

}  // namespace xcap::test
