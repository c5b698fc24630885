#include <catch2/catch.hpp>

#include <chrono>

#include "esxmirror/net/transfer.hpp"

using namespace esxmirror::net;
using std::chrono::milliseconds;
using std::chrono::seconds;

TEST_CASE("RetryPolicy::delay grows exponentially from base_delay", "[retry]") {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(60000);
  CHECK(p.delay(1, std::nullopt) == milliseconds(0));
  CHECK(p.delay(2, std::nullopt) == milliseconds(100));
  CHECK(p.delay(3, std::nullopt) == milliseconds(200));
  CHECK(p.delay(4, std::nullopt) == milliseconds(400));
  CHECK(p.delay(5, std::nullopt) == milliseconds(800));
}

TEST_CASE("RetryPolicy::delay is capped at max_delay, even for huge attempt numbers", "[retry]") {
  RetryPolicy p;
  p.base_delay = milliseconds(1000);
  p.max_delay = milliseconds(5000);
  CHECK(p.delay(4, std::nullopt) == milliseconds(4000));
  CHECK(p.delay(5, std::nullopt) == milliseconds(5000));
  CHECK(p.delay(100, std::nullopt) == milliseconds(5000));
  CHECK(p.delay(1000000, std::nullopt) == milliseconds(5000));
}

TEST_CASE("RetryPolicy::delay: Retry-After wins when larger, never past max_delay", "[retry]") {
  RetryPolicy p;
  p.base_delay = milliseconds(100);
  p.max_delay = milliseconds(10000);
  CHECK(p.delay(2, seconds(3)) == milliseconds(3000));  // larger: wins
  CHECK(p.delay(8, seconds(1)) == milliseconds(6400));  // smaller: the backoff stays
  CHECK(p.delay(2, seconds(0)) == milliseconds(100));
  CHECK(p.delay(2, seconds(3600)) == milliseconds(10000));  // capped
}

TEST_CASE("parse_retry_after reads delay-seconds and HTTP-dates", "[retry]") {
  const auto now = std::chrono::system_clock::from_time_t(1195300800);  // Sat, 17 Nov 2007 12:00:00 GMT
  CHECK(parse_retry_after("1", now) == seconds(1));
  CHECK(parse_retry_after(" 120 ", now) == seconds(120));
  CHECK(parse_retry_after("Sat, 17 Nov 2007 12:00:30 GMT", now) == seconds(30));
  CHECK(parse_retry_after("Sat, 17 Nov 2007 11:00:00 GMT", now) == seconds(0));  // in the past: now
  CHECK_FALSE(parse_retry_after("", now).has_value());
  CHECK_FALSE(parse_retry_after("soon", now).has_value());
  CHECK_FALSE(parse_retry_after("-5", now).has_value());
  CHECK(parse_retry_after("99999999999999999999999", now).value() > seconds(3600));
}

TEST_CASE("partial file naming", "[resume]") {
  CHECK(partial_path("/m/staging/ESX-1.tgz") == std::filesystem::path("/m/staging/ESX-1.tgz.part"));
  CHECK(partial_meta_path("/m/staging/ESX-1.tgz") == std::filesystem::path("/m/staging/ESX-1.tgz.part.meta"));
  CHECK(std::string(to_string(Outcome::not_modified)) == "not_modified");
  CHECK(std::string(to_string(Outcome::exhausted)) == "exhausted");
}
