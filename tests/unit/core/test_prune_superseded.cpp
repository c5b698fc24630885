// What retention may remove is decided from catalog rows alone: these tests build the rows, move `now`,
// and read back which superseded bundles go, never one a version still needs.
#include <catch2/catch.hpp>

#include <cstdint>
#include <set>

#include "esxmirror/core/plan.hpp"
#include "esxmirror/core/prune_superseded.hpp"

using namespace esxmirror;

namespace {

constexpr std::int64_t kDay = 24 * 3600;
constexpr std::int64_t kNow = 1'700'000'000;

// A placed bundle: its copy under the first version, links under the others; placed `age` ago.
store::CatalogEntry placed(const std::string& id, std::vector<std::string> versions, std::int64_t age,
                           std::vector<std::string> supersedes = {}, std::string date = "2007-08-14") {
  store::CatalogEntry e;
  e.patch.id = id;
  e.patch.versions = versions;
  e.patch.release_date = std::move(date);
  e.patch.supersedes = std::move(supersedes);
  e.patch.set_bundle("http://vendor.example/software/vi/" + id + ".tgz", id + ".tgz", std::nullopt);
  e.bundle = store::BundleRow{};
  e.bundle->patch_id = id;
  e.bundle->state = store::BundleState::placed;
  e.bundle->placed_at = kNow - age;
  e.bundle->path = versions.front() + "/" + e.patch.release_date.value_or("undated") + "_" + id;
  for (const std::string& v : versions) {
    const bool link = v != versions.front();
    e.placements.push_back(
        {v, link ? v + "/" + e.patch.release_date.value_or("undated") + "_" + id : *e.bundle->path, link});
  }
  return e;
}

SupersededPolicy keep_days(int days, std::vector<std::string> selection = {}) {
  SupersededPolicy policy;
  policy.keep_seconds = days * kDay;
  policy.selected_versions = std::move(selection);
  return policy;
}

std::set<std::string> ids(const std::vector<SupersededBundle>& removable) {
  std::set<std::string> out;
  for (const SupersededBundle& s : removable) out.insert(s.id);
  return out;
}

}  // namespace

TEST_CASE("superseded: a bundle goes once the bundle superseding it has been placed for the grace period", "[prune]") {
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 90 * kDay),
                                              placed("ESX-2", {"3.0.1"}, 30 * kDay, {"ESX-1"}, "2007-10-08")};
  CHECK(ids(superseded_bundles(entries, keep_days(31), kNow)).empty());  // one day short
  std::vector<SupersededBundle> removable = superseded_bundles(entries, keep_days(30), kNow);
  REQUIRE(removable.size() == 1);
  CHECK(removable[0].id == "ESX-1");
  CHECK(removable[0].versions == std::vector<std::string>{"3.0.1"});
  CHECK(removable[0].reason == "superseded by ESX-2 under 3.0.1");
  CHECK(ids(superseded_bundles(entries, keep_days(0), kNow)) == std::set<std::string>{"ESX-1"});
}

TEST_CASE("superseded: the grace period counts from when the newer bundle was placed, not the older one", "[prune]") {
  // An old bundle placed long ago, the newer one only yesterday: hosts have had one day to move.
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 900 * kDay),
                                              placed("ESX-2", {"3.0.1"}, 1 * kDay, {"ESX-1"})};
  CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)).empty());
  // A clock that went backwards (placed "in the future") never counts as old enough.
  entries[1].bundle->placed_at = kNow + kDay;
  CHECK(ids(superseded_bundles(entries, keep_days(0), kNow)).empty());
}

TEST_CASE("superseded: a bundle stays while a version it is placed under has no newer bundle", "[prune]") {
  // The sample site's case: ESX-1002087 (3.0.2 only) supersedes ESX-1001724 (3.0.1 and 3.0.2).
  std::vector<store::CatalogEntry> entries = {
      placed("ESX-1001724", {"3.0.1", "3.0.2"}, 90 * kDay),
      placed("ESX-1002087", {"3.0.2"}, 60 * kDay, {"ESX-1001724"}, "2007-10-08")};
  CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)).empty());

  // Once a bundle superseding it is placed under 3.0.1 as well, it can go; each version names its own.
  entries.push_back(placed("ESX-1002090", {"3.0.1"}, 40 * kDay, {"ESX-1001724"}, "2007-10-09"));
  std::vector<SupersededBundle> removable = superseded_bundles(entries, keep_days(7), kNow);
  REQUIRE(removable.size() == 1);
  CHECK(removable[0].versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(removable[0].reason == "superseded by ESX-1002087 under 3.0.2; ESX-1002090 under 3.0.1");
}

TEST_CASE("superseded: a selected version the page lists needs the bundle too, placed there or not", "[prune]") {
  // ESX-1 is for 3.0.1 and 3.0.2 but (so far) placed only under 3.0.1; 3.0.2 is selected now.
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 90 * kDay),
                                              placed("ESX-2", {"3.0.1"}, 60 * kDay, {"ESX-1"})};
  entries[0].patch.versions = {"3.0.1", "3.0.2"};
  CHECK(ids(superseded_bundles(entries, keep_days(7, {"3.0.1", "3.0.2"}), kNow)).empty());
  // Without 3.0.2 in the selection only its placements count.
  CHECK(ids(superseded_bundles(entries, keep_days(7, {"3.0.1"}), kNow)) == std::set<std::string>{"ESX-1"});
  CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)) == std::set<std::string>{"ESX-1"});
}

TEST_CASE("superseded: only a placed bundle, on disk, supersedes", "[prune]") {
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 90 * kDay),
                                              placed("ESX-2", {"3.0.1"}, 60 * kDay, {"ESX-1"})};
  for (store::BundleState state :
       {store::BundleState::discovered, store::BundleState::failed, store::BundleState::downloading,
        store::BundleState::pruning, store::BundleState::pruned}) {
    INFO(store::to_string(state));
    entries[1].bundle->state = state;
    CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)).empty());
  }
  entries[1].bundle->state = store::BundleState::placed;
  SupersededPolicy policy = keep_days(7);
  policy.missing_on_disk = {"ESX-2"};  // removed by hand: the next sync fetches it again, until then it counts not
  CHECK(ids(superseded_bundles(entries, policy, kNow)).empty());
  // A bundle that is not placed itself has nothing to remove.
  entries[0].bundle->state = store::BundleState::failed;
  CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)).empty());
}

TEST_CASE("superseded: transitively, through bundles that are gone or never fetched", "[prune]") {
  // ESX-3 supersedes ESX-2, which superseded ESX-1; ESX-2 was pruned already (or never placed).
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1", "3.0.2"}, 900 * kDay),
                                              placed("ESX-2", {"3.0.2"}, 600 * kDay, {"ESX-1"}),
                                              placed("ESX-3", {"3.0.1", "3.0.2"}, 60 * kDay, {"ESX-2"})};
  entries[1].bundle->state = store::BundleState::pruned;
  entries[1].placements.clear();
  std::vector<SupersededBundle> removable = superseded_bundles(entries, keep_days(7), kNow);
  REQUIRE(removable.size() == 1);
  CHECK(removable[0].id == "ESX-1");
  CHECK(removable[0].reason == "superseded by ESX-3 under 3.0.1, 3.0.2");
}

TEST_CASE("superseded: along a chain every older bundle goes in one pass and the newest stays", "[prune]") {
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 900 * kDay, {}, "2007-01-01"),
                                              placed("ESX-2", {"3.0.1"}, 600 * kDay, {"ESX-1"}, "2007-02-01"),
                                              placed("ESX-3", {"3.0.1"}, 60 * kDay, {"ESX-2"}, "2007-03-01")};
  std::vector<SupersededBundle> removable = superseded_bundles(entries, keep_days(7), kNow);
  CHECK(ids(removable) == std::set<std::string>{"ESX-1", "ESX-2"});
  CHECK(removable[0].reason == "superseded by ESX-3 under 3.0.1");  // the newest witness is named
  // If the newest is still young, ESX-2 (old enough) still covers ESX-1, and ESX-2 itself stays.
  entries[2].bundle->placed_at = kNow - kDay;
  CHECK(ids(superseded_bundles(entries, keep_days(7), kNow)) == std::set<std::string>{"ESX-1"});
}

TEST_CASE("superseded: pages that supersede each other remove neither", "[prune]") {
  std::vector<store::CatalogEntry> entries = {placed("ESX-1", {"3.0.1"}, 900 * kDay, {"ESX-2"}),
                                              placed("ESX-2", {"3.0.1"}, 600 * kDay, {"ESX-1"})};
  CHECK(ids(superseded_bundles(entries, keep_days(0), kNow)).empty());
  // A circle of three, and a page naming itself, neither.
  entries = {placed("ESX-1", {"3.0.1"}, 900 * kDay, {"ESX-3"}), placed("ESX-2", {"3.0.1"}, 900 * kDay, {"ESX-1"}),
             placed("ESX-3", {"3.0.1"}, 900 * kDay, {"ESX-2", "ESX-3"})};
  CHECK(ids(superseded_bundles(entries, keep_days(0), kNow)).empty());
  // But a newer bundle above the circle supersedes all three, and stays.
  entries.push_back(placed("ESX-4", {"3.0.1"}, 90 * kDay, {"ESX-1"}));
  CHECK(ids(superseded_bundles(entries, keep_days(0), kNow)) == std::set<std::string>{"ESX-1", "ESX-2", "ESX-3"});
}

TEST_CASE("superseded: a version never loses its last bundle of a line, whatever the mix", "[prune]") {
  // Every version a removed bundle was needed under keeps a bundle superseding it: checked over a grid of
  // chains with versions and ages varied.
  const std::vector<std::vector<std::string>> version_sets = {{"3.0.1"}, {"3.0.2"}, {"3.0.1", "3.0.2"}};
  for (int mask = 0; mask < 3 * 3 * 3 * 3; ++mask) {
    std::vector<store::CatalogEntry> entries;
    int code = mask;
    for (int i = 0; i < 4; ++i) {
      const auto& versions = version_sets[static_cast<std::size_t>(code % 3)];
      code /= 3;
      std::vector<std::string> supersedes;
      if (i > 0) supersedes.push_back("ESX-" + std::to_string(i - 1));
      if (i > 1 && mask % 2) supersedes.push_back("ESX-" + std::to_string(i - 2));
      const std::int64_t age = mask % 5 == i ? kDay : (10 - i) * kDay;  // one of them (or none) too young
      entries.push_back(
          placed("ESX-" + std::to_string(i), versions, age, supersedes, "2007-0" + std::to_string(i + 1) + "-01"));
    }
    std::set<std::string> gone = ids(superseded_bundles(entries, keep_days(3), kNow));
    INFO("mask " << mask);
    for (const store::CatalogEntry& e : entries) {
      if (!gone.count(e.patch.id)) continue;
      for (const store::PlacementRow& p : e.placements) {
        bool kept_newer = false;
        for (const store::CatalogEntry& other : entries) {
          if (gone.count(other.patch.id) || other.patch.id <= e.patch.id) continue;  // newer = higher number here
          for (const store::PlacementRow& q : other.placements) kept_newer = kept_newer || q.version == p.version;
        }
        CHECK(kept_newer);
      }
    }
  }
}

TEST_CASE("plan: a pruned bundle is not fetched again, unless a version it was not superseded under is selected",
          "[plan][prune]") {
  PatchRecord patch;
  patch.id = "ESX-1001724";
  patch.versions = {"3.0.1", "3.0.2", "3.0.3"};
  patch.set_bundle("http://vendor.example/ESX-1001724.tgz", "ESX-1001724.tgz", std::nullopt);
  store::BundleRow row;
  row.patch_id = patch.id;
  row.state = store::BundleState::pruned;
  row.pruned_versions = {"3.0.1", "3.0.2"};
  PlanInput input;
  input.patches = {patch};
  input.bundles = {{patch.id, row}};
  input.versions = {"3.0.1", "3.0.2"};
  std::vector<PlannedPatch> plan = plan_patches(input);
  REQUIRE(plan.size() == 1);
  CHECK(plan[0].action == Action::skip);
  input.bundles[patch.id].state = store::BundleState::pruning;  // a prune was killed: still not fetched
  CHECK(plan_patches(input)[0].action == Action::skip);
  input.versions.push_back("3.0.3");  // selected since: no newer bundle was known to cover it
  CHECK(plan_patches(input)[0].action == Action::fetch);
}
