// core/error: the one-line message of a failure that is not an Error.
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <system_error>

#include "esxmirror/core/error.hpp"

using esxmirror::describe_unexpected;

TEST_CASE("a filesystem error is told as its operation, its path and its reason, on one line", "[error]") {
  const std::filesystem::filesystem_error e("cannot create directories", "/srv/esx-mirror/.esxmirror/staging",
                                            std::make_error_code(std::errc::not_a_directory));
  CHECK(describe_unexpected(e) ==
        "cannot create directories /srv/esx-mirror/.esxmirror/staging: Not a directory (fix "
        "the permissions or the file named, then run again)");
  const std::filesystem::filesystem_error two("cannot rename", "/a", "/b", std::make_error_code(std::errc::io_error));
  CHECK(describe_unexpected(two) ==
        "cannot rename /a -> /b: Input/output error (fix the permissions or the file named, "
        "then run again)");
}

TEST_CASE("any other failure is named unexpected", "[error]") {
  CHECK(describe_unexpected(std::runtime_error("boom")) == "unexpected failure: boom");
}
