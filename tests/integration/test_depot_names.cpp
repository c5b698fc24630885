// [depot_names]: a depot mirrored under a directory of the operator's choosing (issue 8 §3, "config can
// rename"), by its default name or by its source URL as written.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

TEST_CASE("depot names: [depot_names] mirrors a depot under the name given, by default name or by URL",
          "[depot][depot-names]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  SECTION("by its default name") { f.configure("[depot_names]\nmain = \"esxi-main\"\n"); }
  SECTION("by its source URL as written, {token} and all") {
    f.configure("[depot_names]\n\"" + f.source() + "\" = \"esxi-main\"\n");
  }
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(mirror_differences(f.mirror("esxi-main"), depot, {"8.0.3"}).empty());
  CHECK(consistency_problems(f.mirror("esxi-main"), depot).empty());
  CHECK_FALSE(fs::exists(f.mirror("main")));
  ProcessResult shown = run_process(binary_path(), {"config", "show", "--config", f.config.string()});
  CHECK(has(shown.out, "esxi-main"));
  CHECK_FALSE(has(shown.out, kDepotToken));
}

TEST_CASE("depot names: a name that is not one directory is refused with exit 2 naming the key, creating nothing",
          "[depot][depot-names]") {
  DepotFixture f;
  f.configure("[depot_names]\nmain = \"../elsewhere\"\n");
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  CHECK(r.exit_code == 2);
  CHECK(has(r.err, "depot_names.main"));
  CHECK_FALSE(fs::exists(f.dest));
  CHECK(f.server.hits().empty());
}
