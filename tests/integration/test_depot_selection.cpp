// Issue 8 §2: which vendor-index entries --esx-version and depot_products select, and that every VIB a
// selected metadata zip references is mirrored exactly once — nothing more is asked of the server.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

using Strings = std::vector<std::string>;

bool ends_with(const std::string& text, const std::string& tail) {
  return text.size() >= tail.size() && text.compare(text.size() - tail.size(), tail.size(), tail) == 0;
}

// Syncs `versions` (and `products` through depot_products) into a fresh mirror and checks that it holds
// exactly the selection, that only the selected zips were fetched, and each selected VIB exactly once.
// `extra` goes to the command line; with -q among them a clean run must print nothing.
void check_selection(const Strings& versions, const Strings& products, std::size_t zips_expected,
                     const Strings& extra = {}) {
  DepotFixture f;
  if (products != Strings{"embeddedEsx"}) {
    std::string list;
    for (const std::string& p : products) list += (list.empty() ? "\"" : ", \"") + p + "\"";
    f.configure("depot_products = [" + list + "]\n");
  }
  Strings args;
  for (const std::string& v : versions) args.insert(args.end(), {"--esx-version", v});
  args.insert(args.end(), extra.begin(), extra.end());
  ProcessResult r = f.sync(args);
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  if (std::find(extra.begin(), extra.end(), "-q") != extra.end()) CHECK(r.all().empty());
  const SampleDepot depot = f.server.depot();

  const std::vector<const SampleRelease*> releases = selected_releases(depot, versions, products);
  REQUIRE(releases.size() == zips_expected);
  CHECK(mirror_differences(f.mirror(), depot, versions, products).empty());

  std::set<std::string> zips_asked, vibs_asked;
  for (const Hit& hit : f.server.hits()) {
    if (ends_with(hit.path, ".zip")) zips_asked.insert(hit.path);
    if (is_vib_request(hit)) vibs_asked.insert(hit.path);
  }
  std::set<std::string> zips_wanted, vibs_wanted;
  for (const SampleRelease* release : releases)
    zips_wanted.insert(f.logged(depot.zip_path(release->version, release->product)));
  for (const std::string& id : depot.vibs_for(versions, products)) {
    vibs_wanted.insert(f.logged(depot.vib_path(id)));
    INFO(id);
    CHECK(f.server.body_count(f.logged(depot.vib_path(id))) == 1);  // a shared VIB too: fetched once
  }
  CHECK(zips_asked == zips_wanted);
  CHECK(vibs_asked == vibs_wanted);
}

}  // namespace

TEST_CASE(
    "depot selection: --esx-version 8.0 mirrors every 8.0.x embeddedEsx zip, not 7.0 nor esxio, and a VIB shared "
    "by several zips is fetched and stored once",
    "[depot][depot-selection]") {
  const SampleDepot depot = SampleDepot::standard(small_vibs());
  // The premise: some VIB is in more than one 8.0 image.
  std::map<std::string, int> zips_of;
  for (const SampleRelease* release : selected_releases(depot, {"8.0"}))
    for (const std::string& id : release->vib_ids) ++zips_of[id];
  REQUIRE(std::any_of(zips_of.begin(), zips_of.end(), [](const auto& entry) { return entry.second > 1; }));
  check_selection({"8.0"}, {"embeddedEsx"}, 3);
}

TEST_CASE("depot selection: --esx-version 8.0.3 mirrors only the 8.0.3 zip and its VIBs", "[depot][depot-selection]") {
  check_selection({"8.0.3"}, {"embeddedEsx"}, 1);
}

TEST_CASE("depot selection: --esx-version 7.0 mirrors only the 7.0.x zips (one job at a time, quietly)",
          "[depot][depot-selection]") {
  check_selection({"7.0"}, {"embeddedEsx"}, 2, {"--jobs", "1", "-q"});
}

TEST_CASE("depot selection: two --esx-version values mirror the union of their zips", "[depot][depot-selection]") {
  check_selection({"7.0", "8.0.3"}, {"embeddedEsx"}, 3);
}

TEST_CASE("depot selection: depot_products with esxio adds the esxio zip of the version", "[depot][depot-selection]") {
  check_selection({"8.0.3"}, {"embeddedEsx", "esxio"}, 2);
}

TEST_CASE("depot selection: widening 8.0.3 to 8.0 later fetches only the VIBs the mirror does not hold yet",
          "[depot][depot-selection]") {
  DepotFixture f;
  REQUIRE(f.sync({"--esx-version", "8.0.3"}).exit_code == 0);
  f.server.reset_hits();
  ProcessResult r = f.sync({"--esx-version", "8.0"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  const SampleDepot depot = f.server.depot();
  const Strings have = depot.vibs_for({"8.0.3"});
  std::set<std::string> wanted, asked;
  for (const std::string& id : depot.vibs_for({"8.0"}))
    if (!std::binary_search(have.begin(), have.end(), id)) wanted.insert(f.logged(depot.vib_path(id)));
  REQUIRE_FALSE(wanted.empty());
  for (const Hit& hit : f.server.hits())
    if (is_vib_request(hit)) asked.insert(hit.path);
  CHECK(asked == wanted);
  CHECK(mirror_differences(f.mirror(), depot, {"8.0"}).empty());
}
