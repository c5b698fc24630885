// DepotCatalog: the placed-bulletin count that index.html and manifest.json show agrees with the states
// bulletin_entries() gives `list` and `status`.
#include <catch2/catch.hpp>

#include <algorithm>
#include <string>

#include "esxmirror/store/database.hpp"
#include "esxmirror/store/depot_catalog.hpp"
#include "support/process.hpp"

using esxmirror::store::BulletinRow;
using esxmirror::store::Database;
using esxmirror::store::DepotCatalog;
using esxmirror::store::DocumentKind;
using esxmirror::store::DocumentRow;
using esxmirror::store::MetadataContents;
using esxmirror::store::VibRef;
using esxmirror::testing::TempDir;

namespace {

VibRef vib(const std::string& name) { return {"vib20/" + name + ".vib", name, "http://depot/" + name, 10, "ab"}; }

BulletinRow bulletin(const std::string& id, std::vector<std::string> vibs) {
  BulletinRow b;
  b.id = id;
  for (std::string& v : vibs) v = "vib20/" + v + ".vib";
  b.vibs = std::move(vibs);
  return b;
}

void save_zip(DepotCatalog& catalog, const std::string& relpath, const MetadataContents& contents, bool published) {
  catalog.set_metadata_contents(relpath, contents, 100);
  DocumentRow row;
  row.relpath = relpath;
  row.kind = DocumentKind::metadata;
  row.url = "http://depot/" + relpath;
  row.sha256 = "cd";
  catalog.save_document(row);
  if (published) catalog.mark_published(relpath, "cd", 100);
}

std::int64_t placed_entries(DepotCatalog& catalog) {
  const auto entries = catalog.bulletin_entries();
  return std::count_if(entries.begin(), entries.end(), [](const auto& e) { return e.state == "placed"; });
}

}  // namespace

TEST_CASE("depot catalog: the placed-bulletin count is the number of bulletin entries in state placed",
          "[store][depot]") {
  TempDir tmp;
  Database db(tmp / "state.db", Database::Mode::read_write);
  DepotCatalog catalog(db, "main");
  // a.zip (published): A1 {a, b} all placed; A2 {c} failed; A3 {a, d} d still discovered; A4 without VIBs.
  // b.zip (not published): B1 {a} placed but named by no published zip.
  save_zip(catalog, "a.zip",
           {{vib("a"), vib("b"), vib("c"), vib("d")},
            {bulletin("A1", {"a", "b"}), bulletin("A2", {"c"}), bulletin("A3", {"a", "d"}), bulletin("A4", {})}},
           true);
  save_zip(catalog, "b.zip", {{vib("a")}, {bulletin("B1", {"a"})}}, false);
  CHECK(catalog.placed_bulletin_count() == 1);  // only A4: nothing is placed yet
  CHECK(placed_entries(catalog) == 1);

  catalog.mark_vibs_placed({"vib20/a.vib", "vib20/b.vib"}, 200);
  catalog.mark_vib_failed("vib20/c.vib", "VIB c: sha-256 mismatch", 900, 200);
  CHECK(catalog.placed_bulletin_count() == 2);  // A1, A4
  CHECK(placed_entries(catalog) == 2);

  catalog.mark_published("b.zip", "cd", 300);
  catalog.mark_vibs_placed({"vib20/c.vib", "vib20/d.vib"}, 300);
  CHECK(catalog.placed_bulletin_count() == 5);  // every one
  CHECK(placed_entries(catalog) == 5);

  catalog.forget_vib("vib20/a.vib", 400);  // removed by hand: A1, A3 and B1 are not placed any more
  CHECK(catalog.placed_bulletin_count() == 2);
  CHECK(placed_entries(catalog) == 2);
  CHECK(DepotCatalog(db, "other").placed_bulletin_count() == 0);
}
