// Issue 8 §1 and §4: two depot sources in one run (VMware's "main" and an OEM's "addon-main"), each
// mirrored under its own name; when one is refused, the other is still mirrored and the run exits 4.
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

std::vector<std::string> both_sources(const DepotFixture& f, const fs::path& report) {
  return {"--source",      f.source("main"), "--source", f.source("addon-main"), "--token-file", f.token_file.string(),
          "--esx-version", "8.0.3",          "--report", report.string()};
}

// The report's sources by name.
std::map<std::string, json> sources_by_name(const fs::path& report) {
  std::map<std::string, json> out;
  const json parsed = json::parse(slurp(report));
  for (const json& source : parsed["sources"]) out[source["name"].get<std::string>()] = source;
  return out;
}

}  // namespace

TEST_CASE(
    "depot sources: main and addon-main in one run are each mirrored under their own name, and the next run is "
    "all 304",
    "[depot][depot-sources]") {
  DepotFixture f;
  f.server.add_depot(SampleDepot::addon(small_vibs()));
  const fs::path report = f.tmp / "report.json";
  ProcessResult r = f.sync_without_source(both_sources(f, report));
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  const SampleDepot main = f.server.depot("main"), addon = f.server.depot("addon-main");
  CHECK(mirror_differences(f.mirror("main"), main, {"8.0.3"}).empty());
  CHECK(mirror_differences(f.mirror("addon-main"), addon, {"8.0.3"}).empty());
  CHECK(consistency_problems(f.mirror("addon-main"), addon).empty());
  // The addon's 8.0.3 zip shares a VIB with its 7.0.3 one: that VIB is mirrored, the 7.0.3 zip is not.
  CHECK_FALSE(fs::exists(f.mirror("addon-main") / addon.zip_path("7.0.3")));

  const auto sources = sources_by_name(report);
  REQUIRE(sources.size() == 2);
  for (const auto& [name, source] : sources) {
    INFO(name);
    CHECK(source["kind"] == "depot");
    CHECK(source["exit_code"] == 0);
    CHECK(has(source["url"].get<std::string>(), "/" + name + "/vmw-depot-index.xml"));
    CHECK_FALSE(has(source["url"].get<std::string>(), kDepotToken));
  }
  CHECK(sources.at("main")["vibs_placed"] == main.vibs_for({"8.0.3"}).size());
  CHECK(sources.at("addon-main")["vibs_placed"] == addon.vibs_for({"8.0.3"}).size());

  f.server.reset_hits();
  ProcessResult again = f.sync_without_source(both_sources(f, report));
  INFO(again.all());
  REQUIRE(again.exit_code == 0);
  std::set<std::string> asked;
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.path);
    CHECK(hit.status == 304);
    CHECK_FALSE(is_vib_request(hit));
    asked.insert(hit.path);
  }
  for (const char* name : {"main", "addon-main"}) {
    const SampleDepot depot = f.server.depot(name);
    for (const std::string& path : {SampleDepot::index_path(), depot.vendor_index_path(), depot.zip_path("8.0.3")}) {
      INFO(name << " " << path);
      CHECK(asked.count(f.logged(path, name)) == 1);
    }
  }
}

TEST_CASE("depot sources: when one source is refused (403 or 401) the other is still mirrored, and the run exits 4",
          "[depot][depot-sources]") {
  DepotFixture f;
  f.server.add_depot(SampleDepot::addon(small_vibs()));
  int status = 403;
  std::string says = "not entitled";
  SECTION("403") {}
  SECTION("401") { status = 401, says = "expired"; }
  Fault refused;
  refused.status = status, refused.status_times = -1;
  f.server.set_fault(f.logged(SampleDepot::index_path(), "addon-main"), refused);

  const fs::path report = f.tmp / "report.json";
  ProcessResult r = f.sync_without_source(both_sources(f, report));
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, says));
  CHECK(has(r.err, "addon-main"));
  CHECK(mirror_differences(f.mirror("main"), f.server.depot("main"), {"8.0.3"}).empty());
  CHECK(read_tree(f.mirror("addon-main")).empty());
  CHECK(f.server.count(f.logged(SampleDepot::index_path(), "addon-main")) == 1);  // not retried

  const auto sources = sources_by_name(report);
  REQUIRE(sources.size() == 2);
  CHECK(sources.at("main")["exit_code"] == 0);
  CHECK(sources.at("addon-main")["exit_code"] == 4);
  CHECK(has(sources.at("addon-main")["message"].get<std::string>(), says));
  CHECK(json::parse(slurp(report))["exit_code"] == 4);
}
