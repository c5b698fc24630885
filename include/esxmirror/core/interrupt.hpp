#pragma once
// A process-wide stop request, set from the SIGINT/SIGTERM handler and polled by the pipeline.
#include <atomic>

namespace esxmirror {

// The flag itself: async-signal-safe to set.
std::atomic<bool>& stop_requested();

}  // namespace esxmirror
