// Issue 13.3: `retry` says what it did. A failed patch is made due; a patch that has not failed (placed,
// or a KB note) is named as such, never claimed due; an unknown id exits 2 and changes nothing.
#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
using nlohmann::json;

namespace {

bool failed_one_is_due(MirrorFixture& f) {
  json failed = json::parse(f.command("status", {"--json"}).out)["failed"];
  REQUIRE(failed.size() == 1);
  CHECK(failed[0]["id"] == "ESX-1000050");
  return failed[0]["due"].get<bool>();
}

}  // namespace

TEST_CASE(
    "retry: a patch that has not failed is named as such, an unknown id exits 2 and changes nothing, a failed "
    "one is made due",
    "[retry]") {
  MirrorFixture f;
  configure(f, "failures_before_backoff = 0\n");
  Fault gone;
  gone.status = 404;
  gone.status_times = -1;
  f.server.set_fault(f.server.site().bundle_path("ESX-1000050"), gone);
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 1);
  REQUIRE_FALSE(failed_one_is_due(f));

  ProcessResult placed = f.command("retry", {"ESX-1000039"});
  INFO(placed.all());
  CHECK(placed.exit_code == 0);
  CHECK(placed.out == "esxmirror: ESX-1000039 has not failed (placed): nothing to retry\n");
  ProcessResult note = f.command("retry", {"ESX-1003176"});
  INFO(note.all());
  CHECK(note.exit_code == 0);
  CHECK(note.out == "esxmirror: ESX-1003176 has not failed (a KB note, no bundle): nothing to retry\n");
  CHECK_FALSE(failed_one_is_due(f));

  ProcessResult unknown = f.command("retry", {"ESX-1000050", "ESX-0000001"});
  INFO(unknown.all());
  CHECK(unknown.exit_code == 2);
  CHECK(has(unknown.err,
            "esxmirror: error: unknown patch id(s): ESX-0000001 (see `esxmirror list`); nothing was "
            "changed"));
  CHECK(unknown.out.empty());
  CHECK_FALSE(failed_one_is_due(f));

  ProcessResult mixed = f.command("retry", {"ESX-1000050", "ESX-1000039"});
  INFO(mixed.all());
  CHECK(mixed.exit_code == 0);
  CHECK(mixed.out ==
        "esxmirror: ESX-1000039 has not failed (placed): nothing to retry\n"
        "esxmirror: 1 patch(es) due on the next sync: ESX-1000050\n");
  CHECK(failed_one_is_due(f));

  f.server.clear_faults();
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  ProcessResult none = f.command("retry", {"--all-failed"});
  INFO(none.all());
  CHECK(none.exit_code == 0);
  CHECK(none.out == "esxmirror: no patch has failed: nothing to retry\n");
}
