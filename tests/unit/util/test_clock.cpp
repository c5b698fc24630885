// The run's clock: unix seconds and ISO 8601 UTC, both ways (reports, --since, the state database).
#include <catch2/catch.hpp>

#include <chrono>

#include "esxmirror/util/clock.hpp"

using namespace esxmirror::util;

TEST_CASE("clock conversions: unix seconds and ISO 8601 UTC", "[clock]") {
  CHECK(iso8601(from_unix(0)) == "1970-01-01T00:00:00Z");
  CHECK(iso8601(from_unix(1795312800)) == "2026-11-22T02:00:00Z");
  CHECK(iso8601(from_unix(946684799)) == "1999-12-31T23:59:59Z");
  CHECK(to_unix(from_unix(1795312800)) == 1795312800);
  CHECK(to_unix(from_unix(1795312800) + std::chrono::milliseconds(999)) == 1795312800);
  const auto now = system_clock().now();
  CHECK(std::chrono::abs(now - std::chrono::system_clock::now()) < std::chrono::seconds(5));
}

TEST_CASE("clock: ISO 8601 dates and times are read back as UTC, anything else refused", "[clock]") {
  CHECK(parse_iso8601("2026-11-22") == from_unix(1795305600));
  CHECK(parse_iso8601("2026-11-22T02:00:00Z") == from_unix(1795312800));
  CHECK(parse_iso8601("2026-11-22T02:00") == from_unix(1795312800));
  CHECK(parse_iso8601("2026-11-22 02:00:07") == from_unix(1795312807));
  CHECK(parse_iso8601(iso8601(from_unix(946684799))) == from_unix(946684799));
  for (const char* bad :
       {"", "yesterday", "2026-13-01", "2026-02-30", "2026-11-22T24:00", "2026-11-22T02:00+01:00",
        "2026-11-22T02:00:00Zx", "22.11.2026", "2026-11-2", "2026-11-22x", "2999-01-01", "1969-12-31"}) {
    INFO(bad);
    CHECK_FALSE(parse_iso8601(bad));
  }
}
