// The catalog against the disk before planning: a bundle whose directory was removed by hand is planned
// again and loses its placement at once; one still on disk keeps it.
#include <catch2/catch.hpp>

#include <filesystem>

#include "esxmirror/core/apply_plan.hpp"
#include "esxmirror/store/database.hpp"
#include "support/process.hpp"

using namespace esxmirror;

namespace {

void place(store::Catalog& catalog, const std::string& id, const std::string& version, const std::string& dir) {
  PatchRecord patch;
  patch.id = id;
  patch.page_url = "http://vendor.example/" + id + ".html";
  patch.set_bundle("http://vendor.example/" + id + ".tgz", id + ".tgz", std::nullopt);
  patch.versions = {version};
  catalog.upsert_patch(patch, 100);
  catalog.mark_downloading(id, 100);
  catalog.mark_verified(id, "md5", "sha256", 10, std::nullopt, 100);
  catalog.mark_placed(id,
                      {.md5 = "md5",
                       .sha256 = "sha256",
                       .size = 10,
                       .verified_md5_expected = std::nullopt,
                       .path = version + "/" + dir,
                       .placements = {{version, version + "/" + dir, false}},
                       .files = {}},
                      100);
}

}  // namespace

TEST_CASE("reconcile_disk: a placed bundle removed by hand is missing, forgotten, and planned again", "[plan]") {
  testing::TempDir dir;
  SyncSettings settings;
  settings.dest = dir.path() / "mirror";
  settings.versions = {"3.5.0"};
  std::filesystem::create_directories(settings.dest / "3.5.0" / "2008-01-01_ESX-1");
  store::Database db(dir.path() / "state.db", store::Database::Mode::read_write);
  store::Catalog catalog(db);
  place(catalog, "ESX-1", "3.5.0", "2008-01-01_ESX-1");  // still on disk
  place(catalog, "ESX-2", "3.5.0", "2008-01-04_ESX-2");  // its directory is gone

  const DiskState disk = reconcile_disk(settings, catalog, 200);
  CHECK(disk.missing_on_disk == std::set<std::string>{"ESX-2"});
  CHECK(disk.placed_versions.at("ESX-1") == std::set<std::string>{"3.5.0"});
  CHECK(catalog.bundle("ESX-1")->state == store::BundleState::placed);
  CHECK(catalog.bundle("ESX-2")->state == store::BundleState::discovered);
  CHECK_FALSE(catalog.bundle("ESX-2")->path);

  std::vector<PatchRecord> patches;
  for (const store::CatalogEntry& entry : catalog.entries()) patches.push_back(entry.patch);
  const std::vector<PlannedPatch> plan = plan_patches(plan_input(settings, patches, catalog.bundles(), disk, 200));
  REQUIRE(plan.size() == 2);
  CHECK(plan[0].patch.id == "ESX-1");
  CHECK(plan[0].action == Action::skip);
  CHECK(plan[1].patch.id == "ESX-2");
  CHECK(plan[1].action == Action::fetch);
}
