// core/error: the exit code and one-line message of every failure that ends a run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <stdexcept>
#include <string>
#include <system_error>

#include "esxmirror/core/error.hpp"
#include "esxmirror/util/storage_error.hpp"

using esxmirror::describe_unexpected;
using esxmirror::Error;
using esxmirror::ExitCode;
using esxmirror::run_error;

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

TEST_CASE("the low layers' neutral errors get their exit code at the core boundary", "[error]") {
  const Error locked = run_error(Error(ExitCode::locked, "another run holds /srv/m/.esxmirror/lock"));
  CHECK(locked.code() == ExitCode::locked);
  CHECK(std::string(locked.what()) == "another run holds /srv/m/.esxmirror/lock");

  const Error storage = run_error(esxmirror::util::StorageError("cannot write /srv/m/x: No space left on device"));
  CHECK(storage.code() == ExitCode::storage);
  CHECK(std::string(storage.what()) == "cannot write /srv/m/x: No space left on device");

  const std::filesystem::filesystem_error fs_error("cannot remove", "/srv/m/y",
                                                   std::make_error_code(std::errc::permission_denied));
  CHECK(run_error(fs_error).code() == ExitCode::storage);
  CHECK(std::string(run_error(fs_error).what()) == describe_unexpected(fs_error));
  CHECK(std::string(run_error(std::runtime_error("boom")).what()) == "unexpected failure: boom");
}
