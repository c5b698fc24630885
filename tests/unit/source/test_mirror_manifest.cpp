// An upstream esxmirror's manifest.json read as a source: bundles with their files, links and notes,
// URLs under the manifest's directory, and the refusals that keep a hostile or old manifest out.
#include <catch2/catch.hpp>

#include <functional>

#include <nlohmann/json.hpp>

#include "esxmirror/source/mirror_manifest.hpp"

using namespace esxmirror;
using namespace esxmirror::source::mirror;
using nlohmann::json;

namespace {

const std::string kUrl = "http://head-office.example/esx/manifest.json";
const std::string kSha1 = std::string(64, 'a');
const std::string kSha2 = std::string(64, 'b');

json bundle(const std::string& version, const std::string& id, const std::string& date) {
  return {{"id", id},
          {"release_date", date},
          {"classification", "Critical"},
          {"supersedes", {"ESX-1000001"}},
          {"filename", id + ".tgz"},
          {"path", version + "/" + date + "_" + id},
          {"link_to", nullptr},
          {"size", 1234},
          {"md5", "5a5d1185a283150ed7485d1fd90e1b02"},
          {"sha256", kSha1},
          {"files",
           {{{"path", "descriptor.xml"}, {"size", 10}, {"sha256", kSha2}},
            {{"path", "contents.xml"}, {"size", 20}, {"sha256", kSha1}},
            {{"path", "RPMS/a b#1.rpm"}, {"size", 30}, {"sha256", kSha2}}}}};
}

json link(const std::string& version, const std::string& target_version, const std::string& id,
          const std::string& date) {
  json out = bundle(version, id, date);
  out.erase("files");
  out["link_to"] = target_version + "/" + date + "_" + id;
  return out;
}

// A manifest as publish::render_manifest writes one: ESX-1001724 stored under 3.0.1, linked from 3.0.2.
json manifest() {
  return {
      {"generator", "esxmirror"},
      {"manifest_version", 2},
      {"newest_release", "2007-08-14"},
      {"versions",
       {{"3.0.1", {bundle("3.0.1", "ESX-1000039", "2007-03-29"), bundle("3.0.1", "ESX-1001724", "2007-08-14")}},
        {"3.0.2", {link("3.0.2", "3.0.1", "ESX-1001724", "2007-08-14")}}}},
      {"notes",
       {{"3.0.1", {{{"id", "KB-1"}, {"release_date", nullptr}, {"classification", ""}, {"page", "http://v/1.html"}}}},
        {"3.0.2", {{{"id", "KB-1"}, {"release_date", nullptr}, {"classification", ""}, {"page", "http://v/1.html"}}}}}},
      {"depots", json::array()}};
}

std::string error_of(const json& value) {
  try {
    parse_manifest(value.dump(), kUrl, "manifest.json");
  } catch (const FormatError& error) {
    return error.what();
  }
  FAIL("no FormatError thrown");
  return "";
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

}  // namespace

TEST_CASE("mirror manifest: bundles with their files, versions primary first, URLs under the manifest",
          "[mirror][manifest]") {
  const Manifest read = parse_manifest(manifest().dump(), kUrl, "manifest.json");
  REQUIRE(read.bundles.size() == 2);
  const UpstreamBundle& first = read.bundles[0];
  CHECK(first.patch.id == "ESX-1000039");
  CHECK(first.patch.versions == std::vector<std::string>{"3.0.1"});
  CHECK(first.primary_version == "3.0.1");
  CHECK(first.dir_name == "2007-03-29_ESX-1000039");
  CHECK(first.patch.release_date == "2007-03-29");
  CHECK(first.patch.classification == "Critical");
  CHECK(first.patch.supersedes == std::vector<std::string>{"ESX-1000001"});
  CHECK(first.patch.bundle_file() == "ESX-1000039.tgz");
  CHECK(first.patch.md5() == "5a5d1185a283150ed7485d1fd90e1b02");
  CHECK(first.patch.page_url == kUrl);
  CHECK(first.patch.bundle_url() == "http://head-office.example/esx/3.0.1/2007-03-29_ESX-1000039/");
  CHECK(first.size == 1234);
  CHECK(first.patch.bundle().size == 1234u);  // the archive upstream verified is the patch's artifact
  CHECK(first.sha256 == kSha1);
  // Ordered by path; a name with a space and a '#' cannot turn into a fragment.
  REQUIRE(first.files.size() == 3);
  CHECK(first.files[0].relpath == "RPMS/a b#1.rpm");
  CHECK(first.files[0].url == "http://head-office.example/esx/3.0.1/2007-03-29_ESX-1000039/RPMS/a%20b%231.rpm");
  CHECK(first.files[1].relpath == "contents.xml");
  CHECK(first.files[1].size == 20);
  CHECK(first.files[1].sha256 == kSha1);
  CHECK(first.files[2].relpath == "descriptor.xml");

  const UpstreamBundle& shared = read.bundles[1];
  CHECK(shared.patch.versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(shared.primary_version == "3.0.1");
  CHECK(shared.files.size() == 3);

  REQUIRE(read.notes.size() == 1);
  CHECK(read.notes[0].id == "KB-1");
  CHECK(read.notes[0].versions == std::vector<std::string>{"3.0.1", "3.0.2"});
  CHECK(read.notes[0].page_url == "http://v/1.html");
  CHECK_FALSE(read.notes[0].has_bundle());
  CHECK_FALSE(read.notes[0].release_date);
}

TEST_CASE("mirror manifest: the directory listed under a later version than its link still leads",
          "[mirror][manifest]") {
  json value = manifest();
  value["versions"] = {{"3.0.1", {link("3.0.1", "3.0.2", "ESX-1001724", "2007-08-14")}},
                       {"3.0.2", {bundle("3.0.2", "ESX-1001724", "2007-08-14")}}};
  const Manifest read = parse_manifest(value.dump(), kUrl, "manifest.json");
  REQUIRE(read.bundles.size() == 1);
  CHECK(read.bundles[0].patch.versions == std::vector<std::string>{"3.0.2", "3.0.1"});
  CHECK(read.bundles[0].patch.bundle_url() == "http://head-office.example/esx/3.0.2/2007-08-14_ESX-1001724/");
}

TEST_CASE("mirror manifest: no md5 upstream, no md5 to plan a replacement with", "[mirror][manifest]") {
  json value = manifest();
  value["versions"]["3.0.1"][0]["md5"] = "";
  CHECK_FALSE(parse_manifest(value.dump(), kUrl, "m").bundles[0].patch.md5());
}

TEST_CASE("mirror manifest: told from the other kinds' documents", "[mirror][manifest]") {
  CHECK(is_manifest(manifest().dump()));
  CHECK_FALSE(is_manifest(R"({"generator": "other"})"));
  CHECK_FALSE(is_manifest(R"([1, 2])"));
  CHECK_FALSE(is_manifest("<vendorList><vendor/></vendorList>"));
  CHECK_FALSE(is_manifest("<html><a href=\"1-patch.html\">x</a></html>"));
  CHECK_FALSE(is_manifest(""));
}

TEST_CASE("mirror manifest: a vendor's patch index is not a mirror's index.html", "[mirror][manifest]") {
  CHECK(is_index_page("<html><head><meta name=\"generator\" content=\"esxmirror\"></head></html>"));
  CHECK_FALSE(is_index_page("<html><head><title>VI3 patches</title></head><a href=\"1-patch.html\">x</a></html>"));
  CHECK_FALSE(is_index_page(manifest().dump()));
  CHECK_FALSE(is_index_page(""));
}

TEST_CASE("mirror manifest: a mirror's top or its index.html leads to the manifest beside it", "[mirror][manifest]") {
  CHECK(manifest_url("http://up:8080/esx/manifest.json") == "http://up:8080/esx/manifest.json");
  CHECK(manifest_url("http://up:8080/esx/") == "http://up:8080/esx/manifest.json");
  CHECK(manifest_url("http://up:8080/esx/index.html") == "http://up:8080/esx/manifest.json");
  CHECK(manifest_url("http://up/") == "http://up/manifest.json");
  CHECK_FALSE(manifest_url("not a url"));
}

TEST_CASE("mirror manifest: an older esxmirror's manifest, without file lists, says to upgrade it",
          "[mirror][manifest]") {
  json old = manifest();
  old.erase("manifest_version");
  CHECK(has(error_of(old), "older than this one; upgrade it"));
  json no_files = manifest();
  no_files["versions"]["3.0.1"][0].erase("files");
  CHECK(has(error_of(no_files), "bundle ESX-1000039 has no file list"));
}

TEST_CASE("mirror manifest: what is not an esxmirror manifest is named", "[mirror][manifest]") {
  try {
    parse_manifest("{nope", kUrl, "http://up/manifest.json");
    FAIL("accepted invalid JSON");
  } catch (const FormatError& error) {
    CHECK(std::string(error.what()) == "http://up/manifest.json: is not valid JSON");
  }
  json other = manifest();
  other["generator"] = "something-else";
  CHECK(has(error_of(other), "not an esxmirror manifest"));
  json no_versions = manifest();
  no_versions.erase("versions");
  CHECK(has(error_of(no_versions), "no \"versions\""));
  json no_sha = manifest();
  no_sha["versions"]["3.0.1"][0]["files"][0]["sha256"] = "abc";
  CHECK(has(error_of(no_sha), "descriptor.xml has no sha-256"));
  json bad_size = manifest();
  bad_size["versions"]["3.0.1"][0]["files"][0]["size"] = -1;
  CHECK(has(error_of(bad_size), "size"));
}

TEST_CASE("mirror manifest: paths that would leave the bundle or the mirror are refused", "[mirror][manifest]") {
  for (std::string path : {"../../etc/passwd", "/etc/passwd", "a//b", "./x", "a/../b", "", "a/"}) {
    INFO(path);
    json value = manifest();
    value["versions"]["3.0.1"][0]["files"][0]["path"] = path;
    CHECK(has(error_of(value), "unsafe path"));
  }
  json twice = manifest();
  twice["versions"]["3.0.1"][0]["files"][1]["path"] = "descriptor.xml";
  CHECK(has(error_of(twice), "listed twice"));

  json id = manifest();
  id["versions"]["3.0.1"][0]["id"] = "../ESX-1";
  CHECK(has(error_of(id), "unsafe id"));
  json version = manifest();
  version["versions"] = {{"..", {bundle("..", "ESX-1000039", "2007-03-29")}}};
  CHECK(has(error_of(version), "not a safe directory name"));
  json elsewhere = manifest();
  elsewhere["versions"]["3.0.1"][0]["path"] = "3.0.2/2007-03-29_ESX-1000039";
  CHECK(has(error_of(elsewhere), "not <version>/<directory>"));
  json deeper = manifest();
  deeper["versions"]["3.0.1"][0]["path"] = "3.0.1/x/../../..";
  CHECK(has(error_of(deeper), "not <version>/<directory>"));
}

TEST_CASE("mirror manifest: links must lead to the bundle's one directory", "[mirror][manifest]") {
  json only_links = manifest();
  only_links["versions"] = {{"3.0.2", {link("3.0.2", "3.0.1", "ESX-1001724", "2007-08-14")}}};
  CHECK(has(error_of(only_links), "ESX-1001724 is listed only as links"));
  json astray = manifest();
  astray["versions"]["3.0.2"][0]["link_to"] = "3.0.1/2007-03-29_ESX-1000039";
  CHECK(has(error_of(astray), "not to its directory 3.0.1/2007-08-14_ESX-1001724"));
  json two = manifest();
  two["versions"]["3.0.2"][0] = bundle("3.0.2", "ESX-1001724", "2007-08-14");
  CHECK(has(error_of(two), "second directory"));
}
