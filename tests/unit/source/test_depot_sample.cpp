// The sample depot of tests/support against the depot readers: every generated document must read as
// a real depot does, so the integration tests built on it test esxmirror and not the generator.
#include <catch2/catch.hpp>

#include <archive.h>
#include <archive_entry.h>

#include <fstream>
#include <set>

#include "depot_fixtures.hpp"
#include "esxmirror/source/depot.hpp"
#include "esxmirror/util/hash.hpp"
#include "support/process.hpp"
#include "support/sample_depot.hpp"

using namespace esxmirror::source::depot;
using esxmirror::testing::SampleDepot;
using esxmirror::testing::SampleDepotOptions;
using esxmirror::testing::TempDir;

namespace {

const std::string kRoot = "http://127.0.0.1:8080/TOKEN/PROD/COMP/ESX_HOST/main/";

std::string sha256(const std::string& bytes) {
  esxmirror::util::StreamHasher hasher(esxmirror::util::StreamHasher::Algorithms::sha256);
  hasher.update(bytes.data(), bytes.size());
  return hasher.finish().sha256;
}

Metadata read_zip(const SampleDepot& depot, const std::string& path) {
  TempDir dir;
  const auto file = dir / "metadata.zip";
  std::ofstream(file, std::ios::binary) << depot.file(path);
  return read_metadata_zip(file, depot.name() + "/" + path);
}

// Member names of an ar archive, in order, with their sizes.
std::vector<std::pair<std::string, std::size_t>> ar_members(const std::string& bytes) {
  std::unique_ptr<archive, decltype(&archive_read_free)> reader(archive_read_new(), &archive_read_free);
  archive_read_support_format_ar(reader.get());
  REQUIRE(archive_read_open_memory(reader.get(), bytes.data(), bytes.size()) == ARCHIVE_OK);
  std::vector<std::pair<std::string, std::size_t>> out;
  archive_entry* entry = nullptr;
  while (archive_read_next_header(reader.get(), &entry) == ARCHIVE_OK)
    out.emplace_back(archive_entry_pathname(entry), static_cast<std::size_t>(archive_entry_size(entry)));
  return out;
}

// Everything a mirror of `versions` holds according to the readers: the chain walked from the index.
std::set<std::string> walk(const SampleDepot& depot, const std::string& root, const std::vector<std::string>& versions,
                           const std::vector<std::string>& products = {"embeddedEsx"}) {
  const DepotLayout layout(root + "vmw-depot-index.xml", "index");
  std::set<std::string> paths = {"vmw-depot-index.xml"};
  for (const Vendor& vendor : parse_depot_index(depot.file("vmw-depot-index.xml"), "index").vendors) {
    const Placement index = layout.place(root + "vmw-depot-index.xml", vendor.index_reference(), "index");
    paths.insert(index.relative_path);
    const VendorIndex entries = parse_vendor_index(depot.file(index.relative_path), index.relative_path);
    for (const MetadataEntry& entry : select_metadata(entries, Selection{versions, products})) {
      const Placement zip = layout.place(index.url, entry.url, index.relative_path);
      paths.insert(zip.relative_path);
      for (const Vib& vib : read_zip(depot, zip.relative_path).vibs) {
        const Placement file = layout.place(zip.url, vib.relative_path, zip.relative_path);
        if (file.inside) paths.insert(file.relative_path);
      }
    }
  }
  return paths;
}

std::set<std::string> as_set(const std::vector<std::string>& items) { return {items.begin(), items.end()}; }

}  // namespace

TEST_CASE("sample depot: every metadata zip reads, and lists its VIBs with their real size and sha-256",
          "[depot][sample]") {
  const SampleDepot depot = SampleDepot::standard();
  CHECK(depot.name() == "main");
  REQUIRE(depot.releases().size() == 6);
  std::set<std::string> lines;
  for (const auto& release : depot.releases()) {
    lines.insert(release.line);
    const Metadata metadata = read_zip(depot, depot.zip_path(release.version, release.product));
    CHECK(metadata.warnings.empty());
    std::vector<std::string> ids;
    for (const Vib& vib : metadata.vibs) {
      ids.push_back(vib.id);
      const std::string& bytes = depot.file(depot.vib_path(vib.id));
      CHECK(vib.packed_size == bytes.size());
      CHECK(vib.sha256 == sha256(bytes));
      CHECK(vib.described_by.rfind("vibs/", 0) == 0);
      CHECK(vib.relative_path == "vib20/" + vib.name + "/" + vib.id + ".vib");
      // A real ar archive: descriptor, signature, one payload.
      const auto members = ar_members(bytes);
      REQUIRE(members.size() == 3);
      CHECK(members[0].first == "descriptor.xml");
      CHECK(members[1].first == "sig.pkcs7");
      CHECK(members[2].second == depot.vib(vib.id).payload_bytes);
    }
    CHECK(as_set(ids) == as_set(release.vib_ids));
    CHECK(metadata.bulletins.size() == release.bulletins.size());
    CHECK(metadata.profiles.size() == release.profiles.size());
    for (const Bulletin& bulletin : metadata.bulletins) CHECK_FALSE(bulletin.release_date.empty());
  }
  CHECK(lines == std::set<std::string>{"7.0", "8.0"});
}

TEST_CASE("sample depot: realistic spread of sizes, severities, and VIBs shared between releases", "[depot][sample]") {
  const SampleDepot depot = SampleDepot::standard();
  std::size_t smallest = SIZE_MAX, largest = 0;
  std::set<std::string> severities, categories;
  for (const auto& release : depot.releases()) {
    for (const auto& id : release.vib_ids) {
      smallest = std::min(smallest, depot.file(depot.vib_path(id)).size());
      largest = std::max(largest, depot.file(depot.vib_path(id)).size());
    }
    for (const auto& bulletin : release.bulletins) {
      severities.insert(bulletin.severity);
      categories.insert(bulletin.category);
    }
  }
  CHECK(smallest < 16 * 1024);
  CHECK(largest > 512 * 1024);
  CHECK(largest < 1100 * 1024);
  CHECK(severities.size() >= 4);
  CHECK(categories.count("security"));

  const auto& u3 = depot.release("8.0.3");
  const std::set<std::string> u2 = as_set(depot.release("8.0.2").vib_ids);
  std::vector<std::string> shared;
  for (const auto& id : u3.vib_ids)
    if (u2.count(id)) shared.push_back(id);
  CHECK(shared.size() >= 2);  // ne1000, lsi-mr3, vmkusb: not updated in 8.0.3
  CHECK(u3.new_vib_ids.size() + shared.size() == u3.vib_ids.size());
  CHECK(u3.profiles == std::vector<std::string>{"ESXi-8.0U3-24022510-standard", "ESXi-8.0U3-24022510-no-tools"});
}

TEST_CASE("sample depot: its own expectations agree with the readers' selection", "[depot][sample]") {
  const SampleDepot depot = SampleDepot::standard();
  for (const std::vector<std::string>& versions :
       std::vector<std::vector<std::string>>{{"8.0"}, {"8.0.3"}, {"7.0"}, {"7.0.2", "8.0.1"}}) {
    CHECK(walk(depot, kRoot, versions) == as_set(depot.paths_for(versions)));
  }
  CHECK(walk(depot, kRoot, {"8.0.3"}, {"embeddedEsx", "esxio"}) ==
        as_set(depot.paths_for({"8.0.3"}, {"embeddedEsx", "esxio"})));
  CHECK(depot.vibs_for({"8.0.3"}, {"esxio"}).size() == 2);
  CHECK(depot.vibs_for({"8.0"}).size() > depot.vibs_for({"8.0.3"}).size());
}

TEST_CASE("sample depot: same inputs, same bytes", "[depot][sample]") {
  const SampleDepot a = SampleDepot::standard(), b = SampleDepot::standard();
  REQUIRE(a.files().size() == b.files().size());
  for (const auto& [path, bytes] : a.files()) CHECK(*bytes == b.file(path));
}

TEST_CASE("sample depot: a new update release shares what it does not update", "[depot][sample]") {
  SampleDepot depot = SampleDepot::standard();
  const SampleDepot before = depot;
  const auto& added = depot.add_update_release("8.0", "8.0.4");
  CHECK(added.new_vib_ids.size() == 4);  // esx-base, esx-update, vsan, tools-light
  for (const auto& id : added.new_vib_ids) CHECK_FALSE(before.files().count(depot.vib_path(id)));
  for (const auto& [path, bytes] : before.files()) {
    if (path == depot.vendor_index_path()) continue;
    CHECK(depot.file(path) == *bytes);  // earlier zips and VIBs unchanged
  }
  CHECK(parse_vendor_index(depot.file(depot.vendor_index_path()), "x").entries.back().version == "8.0.4");
  const Metadata metadata = read_zip(depot, depot.zip_path("8.0.4"));
  CHECK(metadata.vibs.size() == depot.release("8.0.3").vib_ids.size());
  CHECK(walk(depot, kRoot, {"8.0.4"}) == as_set(depot.paths_for({"8.0.4"})));
}

TEST_CASE("sample depot: edits change exactly what they say", "[depot][sample]") {
  SampleDepot depot = SampleDepot::standard();
  const std::string id = depot.release("8.0.3").vib_ids.front();
  const std::string path = depot.vib_path(id);

  SECTION("set_vib_bytes: the file differs from what the metadata lists") {
    depot.set_vib_bytes(id, "not the VIB");
    CHECK(depot.file(path) == "not the VIB");
    CHECK(read_zip(depot, depot.zip_path("8.0.3")).find_vib(id)->sha256 == depot.vib(id).listed_sha256);
    CHECK(depot.vib(id).listed_sha256 != sha256("not the VIB"));
  }
  SECTION("replace_vib: new bytes and every zip listing it agrees") {
    depot.replace_vib(id, "a re-released VIB");
    CHECK(read_zip(depot, depot.zip_path("8.0.3")).find_vib(id)->sha256 == sha256("a re-released VIB"));
  }
  SECTION("set_listed_sha256: the metadata lists another checksum, the file stays") {
    const std::string bytes = depot.file(path);
    depot.set_listed_sha256(id, std::string(64, '0'));
    CHECK(read_zip(depot, depot.zip_path("8.0.3")).find_vib(id)->sha256 == std::string(64, '0'));
    CHECK(depot.file(path) == bytes);
  }
  SECTION("remove_file") {
    depot.remove_file(path);
    CHECK_FALSE(depot.files().count(path));
  }
}

TEST_CASE("sample depot: absolute VIB URLs inside and outside the depot", "[depot][sample]") {
  SampleDepotOptions options;
  options.absolute_url_inside = options.absolute_url_outside = true;
  SampleDepot depot = SampleDepot::standard(options);
  depot.set_base_url(kRoot);
  const DepotLayout layout(kRoot + "vmw-depot-index.xml", "index");
  const Metadata metadata = read_zip(depot, depot.zip_path("8.0.3"));
  std::size_t inside = 0, outside = 0;
  for (const Vib& vib : metadata.vibs) {
    if (vib.relative_path.rfind("http://", 0) != 0) continue;
    const Placement placed = layout.place(kRoot + depot.zip_path("8.0.3"), vib.relative_path, "zip");
    if (placed.inside) {
      ++inside;
      CHECK(placed.relative_path == depot.vib_path(vib.id));
      CHECK(depot.files().count(placed.relative_path));
    } else {
      ++outside;
      CHECK(placed.url.rfind("http://127.0.0.1:8080/TOKEN/PROD/COMP/ESX_HOST/outside/", 0) == 0);
      CHECK_FALSE(depot.files().count(depot.vib_path(vib.id)));
      const auto expected = depot.vibs_for({"8.0.3"});
      CHECK(std::find(expected.begin(), expected.end(), vib.id) == expected.end());
    }
  }
  CHECK(inside == 1);
  CHECK(outside == 1);
}

TEST_CASE("sample depot: the addon depot, a second source", "[depot][sample]") {
  const SampleDepot depot = SampleDepot::addon();
  CHECK(depot.name() == "addon-main");
  const DepotIndex index = parse_depot_index(depot.file("vmw-depot-index.xml"), "addon");
  CHECK(index.vendors.at(0).code == "DEL");
  const std::string root = "http://127.0.0.1:8080/TOKEN/PROD/COMP/ESX_HOST/addon-main/";
  CHECK(walk(depot, root, {"8.0"}) == as_set(depot.paths_for({"8.0"})));
  CHECK(walk(depot, root, {"7.0", "8.0"}).size() == depot.paths_for({"7.0", "8.0"}).size());
  const auto& u3 = depot.release("8.0.3");
  CHECK(read_zip(depot, depot.zip_path("8.0.3")).vibs.size() == u3.vib_ids.size());
  CHECK(u3.new_vib_ids.size() < u3.vib_ids.size());  // shares a VIB with the 7.0.3 addon
}

TEST_CASE("sample depot: the generated benchmark depot", "[depot][sample]") {
  const SampleDepot depot = SampleDepot::generated(2000, 8192);
  const auto& release = depot.release("8.0.3");
  CHECK(release.vib_ids.size() == 2000);
  const Metadata metadata = read_zip(depot, depot.zip_path("8.0.3"));
  CHECK(metadata.vibs.size() == 2000);
  CHECK(metadata.bulletins.size() == 40);
  CHECK(metadata.profiles.size() == 1);
  const std::size_t size = depot.file(depot.vib_path(release.vib_ids[7])).size();
  CHECK(size > 8192 - 1024);
  CHECK(size < 8192 + 1024);
}
