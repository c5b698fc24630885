#pragma once
// Time as the program sees it, injectable so tests can move it without sleeping.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

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
// A UTC date "2026-11-22" (its midnight) or date and time "2026-11-22T02:00", "2026-11-22T02:00:00Z" (a
// space for the T too), years 1970 to 2200; nullopt for anything else, an impossible date or time included.
std::optional<TimePoint> parse_iso8601(std::string_view text);

}  // namespace esxmirror::util
