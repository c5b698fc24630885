#include <catch2/catch.hpp>

#include "esxmirror/source/legacy_html.hpp"

using esxmirror::source::version_matches;

TEST_CASE("version_matches is exact: 3.0.1 is not 3.0.10 or 3.0.1a", "[versions]") {
  CHECK(version_matches("3.0.1", "3.0.1"));
  CHECK_FALSE(version_matches("3.0.10", "3.0.1"));
  CHECK_FALSE(version_matches("3.0.1a", "3.0.1"));
  CHECK_FALSE(version_matches("3.0.1", "3.0.10"));
  CHECK_FALSE(version_matches("3.0", "3.0.1"));
  CHECK_FALSE(version_matches("3.0.1", "3.0"));
  CHECK(version_matches("3.0.1a", "3.0.1a"));
}

TEST_CASE("version_matches ignores the product prefix and blanks", "[versions]") {
  CHECK(version_matches("ESX Server 3.0.1", "3.0.1"));
  CHECK(version_matches("  ESX Server\r\n 3.0.1 ", "3.0.1"));
  CHECK(version_matches("VMware ESX Server 3.0.2", "3.0.2"));
  CHECK(version_matches("ESXi 3.5.0", "3.5.0"));
  CHECK(version_matches("esx server 3.0.1", "ESX Server 3.0.1"));
  CHECK(version_matches("ESX 3.5.0", "3.5.0"));
  CHECK_FALSE(version_matches("ESX Server 3.0.10", "3.0.1"));
  CHECK_FALSE(version_matches("ESX Server 3.0.1", "ESXi 3.0.10"));
}

TEST_CASE("version_matches never matches empty text", "[versions]") {
  CHECK_FALSE(version_matches("", ""));
  CHECK_FALSE(version_matches("ESX Server ", ""));
  CHECK_FALSE(version_matches("", "3.0.1"));
}
