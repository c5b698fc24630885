// Issue 8 §5: failures on a depot, as for the legacy bundles — a VIB with the wrong sha-256, a 404, a
// cut transfer (resumed with Range + If-Range; a 200 to a Range request restarts from zero), a 503, a
// damaged metadata zip, invalid XML. One failure never stops the others, and nothing is published from
// what failed: a zip is published only with every VIB it references.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/archive_builder.hpp"
#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using nlohmann::json;

namespace {

using Strings = std::vector<std::string>;

// The 8.0.3 esx-base VIB: the biggest of the release, and referenced by no other 8.0 zip.
std::string victim_of(const SampleDepot& depot) {
  for (const std::string& id : depot.release("8.0.3").new_vib_ids)
    if (depot.vib(id).name == "esx-base") return id;
  FAIL("the sample depot has no 8.0.3 esx-base");
  return "";
}

// After a run of --esx-version 8.0 in which the 8.0.3 zip failed: 8.0.1 and 8.0.2 are published whole,
// the 8.0.3 zip is neither present nor listed, `victim` (when given) is not placed, every other file is a
// verified VIB, and the mirror is consistent.
void check_published_without_803(const DepotFixture& f, const SampleDepot& depot, const std::string& victim) {
  const Strings ok = {"8.0.1", "8.0.2"};
  CHECK(entries_of(f.mirror() / depot.vendor_index_path()) == expected_entries(depot, ok));
  const FileTree got = read_tree(f.mirror());
  FileTree want = expected_mirror(depot, ok);
  FileTree extra;
  for (const auto& [path, bytes] : got)
    if (!want.count(path) && path != depot.vendor_index_path()) extra[path] = bytes;
  std::erase_if(want, [&](const auto& entry) { return !got.count(entry.first); });
  CHECK(expected_mirror(depot, ok).size() == want.size());  // nothing of 8.0.1 and 8.0.2 missing
  for (const auto& [path, bytes] : extra) {
    INFO(path);
    CHECK(path != depot.zip_path("8.0.3"));
    CHECK(has(path, "/vib20/"));
    if (!victim.empty()) CHECK(path != depot.vib_path(victim));
  }
  CHECK(consistency_problems(f.mirror(), depot).empty());
}

json source_report(const fs::path& file) {
  const json report = json::parse(slurp(file));
  REQUIRE(report["sources"].size() == 1);
  return report["sources"][0];
}

}  // namespace

TEST_CASE(
    "depot failures: a VIB with the wrong sha-256 is fetched twice, then failed by id and file name, never "
    "placed, its zip not published, the others are, exit 1",
    "[depot][depot-failures]") {
  DepotFixture f;
  const SampleDepot original = f.server.depot();
  const std::string victim = victim_of(original);
  std::string bad = original.file(original.vib_path(victim));
  bad[bad.size() / 2] = static_cast<char>(bad[bad.size() / 2] ^ 0x5a);  // same size, other sha-256
  f.server.edit_depot("main", [&](SampleDepot& depot) { depot.set_vib_bytes(victim, bad); });
  const fs::path report = f.tmp / "report.json";

  ProcessResult r = f.sync({"--esx-version", "8.0", "--report", report.string()});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(f.server.body_count(f.logged(original.vib_path(victim))) == 2);
  CHECK(has(r.all(), original.vib(victim).file_name()));
  CHECK((has(r.all(), "sha-256") || has(r.all(), "sha256")));
  CHECK_FALSE(fs::exists(f.mirror() / original.vib_path(victim)));
  check_published_without_803(f, original, victim);

  const json source = source_report(report);
  CHECK(source["exit_code"] == 1);
  CHECK(source["vibs_failed"] == 1);
  const json full = json::parse(slurp(report));
  CHECK(full["exit_code"] == 1);
  bool failed_bulletin = false;
  for (const json& patch : full["patches"])
    if (patch["outcome"] == "failed") failed_bulletin = failed_bulletin || has(patch["id"].get<std::string>(), "8.0.3");
  CHECK(failed_bulletin);
}

TEST_CASE("depot failures: a 404 on a VIB is not retried, its zip not published, the others are, exit 1",
          "[depot][depot-failures]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  const std::string victim = victim_of(depot);
  Fault gone;
  gone.status = 404, gone.status_times = -1;
  f.server.set_fault(f.logged(depot.vib_path(victim)), gone);

  ProcessResult r = f.sync({"--esx-version", "8.0"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(hits_of(f.server, f.logged(depot.vib_path(victim))).size() == 1);
  CHECK(has(r.all(), depot.vib(victim).file_name()));
  CHECK(has(r.all(), "404"));
  check_published_without_803(f, depot, victim);
}

TEST_CASE("depot failures: a 503 on a VIB is retried and the VIB placed", "[depot][depot-failures]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  const std::string victim = victim_of(depot);
  Fault busy;
  busy.status = 503, busy.status_times = 1;
  f.server.set_fault(f.logged(depot.vib_path(victim)), busy);
  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(hits_of(f.server, f.logged(depot.vib_path(victim))).size() == 2);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
}

TEST_CASE(
    "depot failures: a VIB transfer cut twice is resumed each time with Range and If-Range, no byte fetched "
    "twice",
    "[depot][depot-failures]") {
  DepotFixture f;
  const SampleDepot depot = f.server.depot();
  const std::string victim = victim_of(depot);
  const std::string path = f.logged(depot.vib_path(victim));
  const std::size_t size = depot.file(depot.vib_path(victim)).size();
  REQUIRE(size > 9000);
  Fault cut;
  cut.cut_after_bytes = 4000, cut.cut_times = 2;
  f.server.set_fault(path, cut);

  ProcessResult r = f.sync({"--esx-version", "8.0.3"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  const std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].status == 200);
  CHECK(hits[0].body_bytes == 4000);
  CHECK(hits[1].range == "bytes=4000-");
  CHECK_FALSE(hits[1].if_range.empty());
  CHECK(hits[1].status == 206);
  CHECK(hits[2].range == "bytes=8000-");
  CHECK_FALSE(hits[2].if_range.empty());
  CHECK(hits[2].status == 206);
  CHECK(hits[2].body_bytes == size - 8000);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
}

TEST_CASE(
    "depot failures: a cut VIB out of retries keeps its partial, the next run resumes it, or restarts from "
    "zero when the server answers the Range request with the whole (changed) file, never gluing",
    "[depot][depot-failures]") {
  DepotFixture f;
  f.configure("retries = 1\n");
  const SampleDepot depot = f.server.depot();
  const std::string victim = victim_of(depot);
  const std::string path = f.logged(depot.vib_path(victim));
  Fault cut;
  cut.cut_after_bytes = 4000, cut.cut_times = 1;
  f.server.set_fault(path, cut);
  ProcessResult first = f.sync({"--esx-version", "8.0.3"});
  INFO(first.all());
  REQUIRE(first.exit_code == 1);
  CHECK_FALSE(fs::exists(f.mirror() / depot.zip_path("8.0.3")));
  CHECK_FALSE(fs::exists(f.mirror() / depot.vib_path(victim)));
  CHECK(consistency_problems(f.mirror(), depot).empty());
  f.server.reset_hits();

  SECTION("unchanged upstream: resumed with Range + If-Range, answered 206") {
    ProcessResult second = f.sync({"--esx-version", "8.0.3"});
    INFO(second.all());
    REQUIRE(second.exit_code == 0);
    const std::vector<Hit> hits = hits_of(f.server, path);
    REQUIRE(hits.size() == 1);
    CHECK(hits[0].range == "bytes=4000-");
    CHECK_FALSE(hits[0].if_range.empty());
    CHECK(hits[0].status == 206);
    CHECK(hits[0].body_bytes == depot.file(depot.vib_path(victim)).size() - 4000);
    CHECK(mirror_differences(f.mirror(), depot, {"8.0.3"}).empty());
  }
  SECTION("re-released upstream: the whole new file is fetched and placed") {
    std::string rereleased = pseudo_random_bytes(depot.file(depot.vib_path(victim)).size(), 4242);
    f.server.edit_depot("main", [&](SampleDepot& edited) { edited.replace_vib(victim, rereleased); });
    ProcessResult second = f.sync({"--esx-version", "8.0.3"});
    INFO(second.all());
    REQUIRE(second.exit_code == 0);
    for (const Hit& hit : hits_of(f.server, path)) {
      INFO(hit.method << " range '" << hit.range << "' -> " << hit.status);
      if (!hit.range.empty()) CHECK_FALSE(hit.if_range.empty());  // a Range without If-Range could glue
      if (hit.status == 200) CHECK(hit.body_bytes == rereleased.size());
    }
    CHECK(slurp(f.mirror() / depot.vib_path(victim)) == rereleased);
    CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0.3"}).empty());
  }
}

TEST_CASE(
    "depot failures: a damaged metadata zip or one with invalid XML gets a one-line error naming it, nothing "
    "is published from it, the other zips are",
    "[depot][depot-failures]") {
  DepotFixture f;
  const SampleDepot original = f.server.depot();
  const std::string zip = original.zip_path("8.0.3");
  const std::string& whole = original.file(zip);
  std::string damaged;
  SECTION("truncated") { damaged = whole.substr(0, whole.size() / 2); }
  SECTION("not a zip at all") { damaged = "<html><body>Maintenance</body></html>\n"; }
  SECTION("a real zip whose XML is invalid") {
    damaged = build_archive({{"vmware.xml", ArchiveEntry::Type::file,
                              "<metadataResponse><bulletin><id>ESXi_8.0.3-0.0.24022510</bulletin>", "", 0644},
                             {"bulletins/ESXi_8.0.3-0.0.24022510.xml", ArchiveEntry::Type::file,
                              "<bulletin><id>ESXi_8.0.3-0.0.24022510</id><vibList><vibID>x</vibList>", "", 0644}},
                            ArchiveFormat::zip);
  }
  f.server.edit_depot("main", [&](SampleDepot& depot) { depot.set_file(zip, damaged); });
  const fs::path report = f.tmp / "report.json";

  ProcessResult r = f.sync({"--esx-version", "8.0", "--report", report.string()});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  const std::string name = fs::path(zip).filename().string();
  CHECK(has(r.err, name));
  // Nothing of 8.0.3 is asked for: its VIBs are only known from the zip that could not be read.
  const Strings readable = original.vibs_for({"8.0.1", "8.0.2"});
  for (const Hit& hit : f.server.hits()) {
    if (!is_vib_request(hit)) continue;
    const std::string rel = hit.path.substr(f.logged("").size());
    INFO(rel);
    CHECK(std::any_of(readable.begin(), readable.end(),
                      [&](const std::string& id) { return original.vib_path(id) == rel; }));
  }
  check_published_without_803(f, original, "");
  const json source = source_report(report);
  bool named = false;
  for (const json& document : source["failed_documents"]) named = named || has(document.get<std::string>(), name);
  CHECK(named);
}

TEST_CASE(
    "depot failures: a vendor index turned invalid XML upstream is refused naming it, and the published "
    "mirror stays exactly as it was",
    "[depot][depot-failures]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0"}).exit_code == 0);
  const FileTree before = read_tree(f.mirror());
  const SampleDepot depot = f.server.depot();
  std::string broken = depot.file(depot.vendor_index_path());
  broken.resize(broken.size() / 2);
  f.server.edit_depot("main", [&](SampleDepot& edited) { edited.set_file(edited.vendor_index_path(), broken); });
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "8.0"});
  INFO(r.all());
  CHECK((r.exit_code == 1 || r.exit_code == 4));  // the contract names no code: partial or source unreadable
  CHECK(has(r.err, "vmw-esx-index.xml"));
  CHECK(tree_differences(read_tree(f.mirror()), before).empty());
  for (const Hit& hit : f.server.hits()) CHECK_FALSE((is_vib_request(hit) && hit.body_bytes > 0));
}
