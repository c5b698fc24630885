#pragma once
// Time as the program sees it, injectable so tests can move it without sleeping.
#include <chrono>
#include <cstdint>
#include <string>

namespace esxmirror::util {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint now() const = 0;
};

// The wall clock.
const Clock& system_clock();

// Seconds since the epoch.
std::int64_t to_unix(TimePoint t);
TimePoint from_unix(std::int64_t seconds);
// "2026-11-22T02:00:00Z".
std::string iso8601(TimePoint t);

}  // namespace esxmirror::util
