// The patch record as the state database keeps it (a page row's JSON): what a later run reads back is
// what the parser said, including rows written by earlier releases.
#include <catch2/catch.hpp>

#include "esxmirror/core/patch_json.hpp"

using namespace esxmirror;

TEST_CASE("patch json: a record comes back as it was written, its refused download link included", "[patch-json]") {
  PatchRecord patch;
  patch.id = "ESX-1000039";
  patch.versions = {"3.0.1", "3.0.2"};
  patch.release_date = "2007-03-29";
  patch.classification = "Critical";
  patch.supersedes = {"ESX-1000010"};
  patch.page_url = "http://vendor.test/vi/1000039-patch.html";
  patch.refused_download = "download link 'ftp://vendor.test/ESX-1000039.tgz' is not http(s); ignored";
  patch.warnings = {*patch.refused_download, "no md5 on page"};
  CHECK(patch_from_json(to_json(patch)) == patch);

  patch.refused_download.reset();
  patch.set_bundle("http://download.vendor.test/vi/ESX-1000039.tgz", "ESX-1000039.tgz",
                   "2c4fe3e1d1bdcf0a1d6d6e3f7c2e1039");
  patch.warnings.clear();
  CHECK(patch_from_json(to_json(patch)) == patch);
}

TEST_CASE("patch json: a row written before refused_download existed is read from the parser's warning",
          "[patch-json]") {
  PatchRecord patch;
  patch.id = "ESX-1000040";
  patch.versions = {"3.0.1"};
  patch.page_url = "http://vendor.test/vi/1000040-patch.html";
  patch.warnings = {"no release date found", "download link 'file:///etc/passwd' is not http(s); ignored"};
  nlohmann::json old_row = to_json(patch);
  old_row.erase("refused_download");
  CHECK(patch_from_json(old_row).refused_download == patch.warnings[1]);

  old_row["warnings"] = {"no release date found"};  // a KB note: nothing refused
  CHECK_FALSE(patch_from_json(old_row).refused_download);
}
