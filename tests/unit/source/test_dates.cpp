#include <catch2/catch.hpp>

#include "esxmirror/source/legacy_html.hpp"

using esxmirror::source::normalise_date;

TEST_CASE("normalise_date reads US numeric dates with two- or four-digit years", "[dates]") {
  CHECK(normalise_date("3/29/07") == "2007-03-29");
  CHECK(normalise_date("3/29/2007") == "2007-03-29");
  CHECK(normalise_date("03/29/2007") == "2007-03-29");
  CHECK(normalise_date("10/8/07") == "2007-10-08");
  CHECK(normalise_date("3-29-07") == "2007-03-29");
  CHECK(normalise_date("  3/29/07\r\n") == "2007-03-29");
}

TEST_CASE("normalise_date pivots two-digit years at 70", "[dates]") {
  CHECK(normalise_date("1/1/00") == "2000-01-01");
  CHECK(normalise_date("12/31/69") == "2069-12-31");
  CHECK(normalise_date("1/1/70") == "1970-01-01");
  CHECK(normalise_date("6/15/99") == "1999-06-15");
}

TEST_CASE("normalise_date reads month names, long and short, either order", "[dates]") {
  CHECK(normalise_date("March 29, 2007") == "2007-03-29");
  CHECK(normalise_date("Mar 29, 2007") == "2007-03-29");
  CHECK(normalise_date("Mar 29 2007") == "2007-03-29");
  CHECK(normalise_date("Mar. 29, 2007") == "2007-03-29");
  CHECK(normalise_date("march 29,2007") == "2007-03-29");
  CHECK(normalise_date("SEPT 4, 2007") == "2007-09-04");
  CHECK(normalise_date("August 14th, 2007") == "2007-08-14");
  CHECK(normalise_date("29 March 2007") == "2007-03-29");
  CHECK(normalise_date("29 Mar 2007") == "2007-03-29");
  CHECK(normalise_date("29-Mar-07") == "2007-03-29");
  CHECK(normalise_date("Thursday, March 29, 2007") == "2007-03-29");
  CHECK(normalise_date("March\n   29,\t2007") == "2007-03-29");
}

TEST_CASE("normalise_date reads ISO dates", "[dates]") {
  CHECK(normalise_date("2007-03-29") == "2007-03-29");
  CHECK(normalise_date("2007-3-9") == "2007-03-09");
  CHECK(normalise_date("2007/03/29") == "2007-03-29");
}

TEST_CASE("normalise_date validates the calendar, leap years included", "[dates]") {
  CHECK(normalise_date("2/29/08") == "2008-02-29");
  CHECK(normalise_date("2/29/2000") == "2000-02-29");
  CHECK_FALSE(normalise_date("2/29/07"));
  CHECK_FALSE(normalise_date("2/29/1900"));
  CHECK_FALSE(normalise_date("2/30/07"));
  CHECK_FALSE(normalise_date("4/31/07"));
  CHECK_FALSE(normalise_date("13/1/07"));
  CHECK_FALSE(normalise_date("0/10/07"));
  CHECK_FALSE(normalise_date("1/0/07"));
  CHECK_FALSE(normalise_date("2007-02-30"));
  CHECK_FALSE(normalise_date("February 30, 2007"));
  CHECK_FALSE(normalise_date("2007-13-01"));
}

TEST_CASE("normalise_date refuses what is not a date", "[dates]") {
  CHECK_FALSE(normalise_date("TBD"));
  CHECK_FALSE(normalise_date("soon"));
  CHECK_FALSE(normalise_date(""));
  CHECK_FALSE(normalise_date("   "));
  CHECK_FALSE(normalise_date("3/29"));
  CHECK_FALSE(normalise_date("3/29/07/"));
  CHECK_FALSE(normalise_date("3//29/07"));
  CHECK_FALSE(normalise_date("3/29/007"));
  CHECK_FALSE(normalise_date("3/29-07"));
  CHECK_FALSE(normalise_date("29.03.2007"));
  CHECK_FALSE(normalise_date("Smarch 29, 2007"));
  CHECK_FALSE(normalise_date("March 29, 2007 at noon"));
  CHECK_FALSE(normalise_date("March 2007"));
  CHECK_FALSE(normalise_date("ESX-1000039"));
  CHECK_FALSE(normalise_date("3.0.1"));
  CHECK_FALSE(normalise_date("99999999/1/2007"));
  CHECK_FALSE(normalise_date(std::string(10000, '1')));
  CHECK_FALSE(normalise_date(std::string_view("3/29\0/07", 8)));
}
