// The published index: manifest.json carries what a downstream esxmirror needs to mirror this one, and
// both files are functions of the state alone, so a mirror of a mirror publishes the same bytes.
#include <catch2/catch.hpp>

#include <nlohmann/json.hpp>

#include "esxmirror/publish/repository_index.hpp"
#include "esxmirror/source/mirror_manifest.hpp"

using namespace esxmirror;
using nlohmann::json;

namespace {

const std::string kSha = std::string(64, 'c');

store::CatalogEntry placed(const std::string& id, const std::string& date, std::vector<std::string> versions) {
  store::CatalogEntry entry;
  entry.patch.id = id;
  entry.patch.versions = versions;
  entry.patch.release_date = date;
  entry.patch.classification = "Security";
  entry.patch.supersedes = {"ESX-1000001"};
  entry.patch.set_bundle("http://vendor.example/" + id + ".tgz", id + ".tgz", std::nullopt);
  entry.patch.page_url = "http://vendor.example/" + id + ".html";
  store::BundleRow bundle;
  bundle.patch_id = id;
  bundle.state = store::BundleState::placed;
  bundle.md5 = "0123456789abcdef0123456789abcdef";
  bundle.sha256 = kSha;
  bundle.size = 4096;
  bundle.path = versions.front() + "/" + date + "_" + id;
  entry.bundle = bundle;
  for (std::size_t i = 0; i < versions.size(); ++i) {
    entry.placements.push_back({versions[i], versions[i] + "/" + date + "_" + id, i > 0});
  }
  return entry;
}

publish::RepositoryContent content() {
  publish::RepositoryContent out;
  out.entries.push_back(placed("ESX-1000039", "2007-03-29", {"3.0.1"}));
  out.entries.push_back(placed("ESX-1001724", "2007-08-14", {"3.0.1", "3.0.2"}));
  store::CatalogEntry note;
  note.patch.id = "KB-1002420";
  note.patch.versions = {"3.0.2"};
  note.patch.release_date = "2007-09-01";
  note.patch.page_url = "http://vendor.example/kb.html?token=secret";
  out.entries.push_back(note);
  out.files["ESX-1000039"] = {{"contents.xml", 10, kSha}, {"descriptor.xml", 20, kSha}};
  out.files["ESX-1001724"] = {{"ESX-1001724.tgz", 4096, kSha}, {"contents.xml", 30, kSha}};
  out.depots.push_back({"main", true, {"main/esx/vmw/vmw-ESXi-8.0.3-metadata.zip"}, 4, "2024-06-25"});
  return out;
}

}  // namespace

TEST_CASE("manifest: a downstream reads back every bundle, its files, links and notes", "[publish][manifest]") {
  const std::string text = publish::render_manifest(content());
  const json value = json::parse(text);
  CHECK(value["manifest_version"] == 2);
  CHECK(value["versions"]["3.0.2"][0]["link_to"] == "3.0.1/2007-08-14_ESX-1001724");
  CHECK_FALSE(value["versions"]["3.0.2"][0].contains("files"));  // a link lists no files of its own
  CHECK(value["notes"]["3.0.2"][0]["page"] == "http://vendor.example/kb.html?token=***");

  const auto read = source::mirror::parse_manifest(text, "http://up/manifest.json", "manifest.json");
  REQUIRE(read.bundles.size() == 2);
  CHECK(read.bundles[0].patch.id == "ESX-1000039");
  CHECK(read.bundles[1].patch.versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(read.bundles[1].patch.bundle_file() == "ESX-1001724.tgz");
  CHECK(read.bundles[1].patch.md5() == "0123456789abcdef0123456789abcdef");
  CHECK(read.bundles[1].patch.supersedes == std::vector<std::string>{"ESX-1000001"});
  REQUIRE(read.bundles[1].files.size() == 2);
  CHECK(read.bundles[1].files[0].relpath == "ESX-1001724.tgz");  // the kept archive is one of its files
  CHECK(read.bundles[1].files[0].size == 4096);
  CHECK(read.bundles[1].files[1].url == "http://up/3.0.1/2007-08-14_ESX-1001724/contents.xml");
  REQUIRE(read.notes.size() == 1);
  CHECK(read.notes[0].versions == std::vector<std::string>{"3.0.2"});
}

TEST_CASE("index files: no clock in them, and the newest release stands for when", "[publish][manifest]") {
  const std::string manifest = publish::render_manifest(content());
  const std::string html = publish::render_index_html(content());
  CHECK(manifest == publish::render_manifest(content()));
  CHECK(html == publish::render_index_html(content()));
  CHECK(json::parse(manifest)["newest_release"] == "2024-06-25");  // a depot bulletin is the newest
  CHECK(json::parse(manifest).count("generated_at") == 0);
  CHECK(html.find("the newest patch here was released 2024-06-25") != std::string::npos);

  publish::RepositoryContent legacy_only = content();
  legacy_only.depots.clear();
  CHECK(publish::newest_release(legacy_only) == "2007-08-14");  // placed bundles; the note does not count
  CHECK_FALSE(publish::newest_release(publish::RepositoryContent{}));
  CHECK(json::parse(publish::render_manifest({}))["newest_release"].is_null());
}

TEST_CASE("index.html: a downstream esxmirror given the mirror's top tells it is one", "[publish][manifest]") {
  CHECK(source::mirror::is_index_page(publish::render_index_html(content())));
  CHECK(source::mirror::is_index_page(publish::render_index_html({})));
  CHECK_FALSE(source::mirror::is_index_page(publish::render_manifest(content())));
}
