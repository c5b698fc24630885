// The wall clock and conversions to/from Unix seconds and ISO 8601 (UTC).
#include "esxmirror/util/clock.hpp"

#include <cstdio>

namespace esxmirror::util {

namespace {

class SystemClock final : public Clock {
 public:
  TimePoint now() const override { return std::chrono::system_clock::now(); }
};

}  // namespace

const Clock& system_clock() {
  static const SystemClock clock;
  return clock;
}

std::int64_t to_unix(TimePoint t) { return std::chrono::floor<std::chrono::seconds>(t.time_since_epoch()).count(); }

TimePoint from_unix(std::int64_t seconds) {
  return TimePoint(std::chrono::duration_cast<TimePoint::duration>(std::chrono::seconds(seconds)));
}

std::string iso8601(TimePoint t) {
  const auto day = std::chrono::floor<std::chrono::days>(t);
  const std::chrono::year_month_day ymd(day);
  const std::chrono::hh_mm_ss hms(std::chrono::floor<std::chrono::seconds>(t - day));
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%04d-%02u-%02uT%02d:%02d:%02dZ", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(hms.hours().count()), static_cast<int>(hms.minutes().count()),
                static_cast<int>(hms.seconds().count()));
  return buffer;
}

std::optional<TimePoint> parse_iso8601(std::string_view text) {
  int y = 0, mo = 0, d = 0, h = 0, mi = 0, sec = 0;
  char sep = 0, zone = 0;
  int used = 0;
  const std::string s(text);
  if (s.size() == 10 && std::sscanf(s.c_str(), "%4d-%2d-%2d%n", &y, &mo, &d, &used) == 3 && used == 10) {
    // the date alone: its midnight
  } else if (std::sscanf(s.c_str(), "%4d-%2d-%2d%c%2d:%2d%n", &y, &mo, &d, &sep, &h, &mi, &used) == 6 &&
             (sep == 'T' || sep == ' ')) {
    std::string_view rest = text.substr(static_cast<std::size_t>(used));
    if (rest.size() >= 3 && rest[0] == ':') {
      int more = 0;
      if (std::sscanf(std::string(rest).c_str(), ":%2d%n", &sec, &more) != 1 || more != 3) return std::nullopt;
      rest.remove_prefix(3);
    }
    if (rest == "Z") zone = 'Z';
    if (!rest.empty() && zone != 'Z') return std::nullopt;
  } else {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year(y), std::chrono::month(static_cast<unsigned>(mo)),
                                        std::chrono::day(static_cast<unsigned>(d))};
  // Years a TimePoint (nanoseconds in 64 bits) holds without overflow, with room to spare.
  if (y < 1970 || y > 2200) return std::nullopt;
  if (!ymd.ok() || h > 23 || mi > 59 || sec > 59 || h < 0 || mi < 0 || sec < 0) return std::nullopt;
  return std::chrono::sys_days(ymd) + std::chrono::hours(h) + std::chrono::minutes(mi) + std::chrono::seconds(sec);
}

}  // namespace esxmirror::util
