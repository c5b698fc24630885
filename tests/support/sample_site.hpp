#pragma once
// A generated legacy VMware patch site (DESIGN §7): index page, detail pages in both dialects with the
// real-world variations, and real .tgz bundles. Pure data: SiteServer serves it.
#include <cstddef>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "support/archive_builder.hpp"

namespace esxmirror::testing {

struct SamplePatch {
  std::string id;                     // bundle name, "ESX-1000039"
  std::string kb;                     // page number: page is "<kb>-patch.html"
  std::vector<std::string> versions;  // {"3.0.1"} or several
  std::string date_text;              // as printed: "3/29/07", "March 29, 2007", "2007-03-29", "soon"
  std::string iso_date;               // what the parser must make of it ("" when unparseable)
  int dialect = 1;                    // 1: <h2>Download Patch ... / Released; 2: the <TR><TD> table
  bool md5_on_page = true;
  std::string classification = "General";
  std::vector<std::string> supersedes;
  bool kb_note = false;  // empty download filename, no bundle
  std::size_t bundle_bytes = 64 * 1024;
  // Page-writing variations (DESIGN §7).
  bool upper_case_tags = false;
  bool single_quotes = false;
  bool crlf = false;
  bool absolute_link = false;   // download link absolute (else relative)
  bool entity_in_link = false;  // link written with &amp; / &#46; entities
};

// Lowercase hex md5 of `bytes` (what the pages print and what tests compare against).
std::string md5_hex(std::string_view bytes);

class SampleSite {
 public:
  // Absolute links are stored as base_token + path ("{{BASE}}software/vi/ESX-1.tgz"): the host and port
  // are only known once a server listens. SiteServer substitutes its base_url() in every .html it serves.
  static constexpr const char* base_token = "{{BASE}}";
  // `text` with every base_token replaced by `base_url` ("http://127.0.0.1:PORT/").
  static std::string with_base(std::string text, const std::string& base_url);

  // The realistic mix for tests and the demo: versions 3.0.1 and 3.0.2 (plus a 3.0.10 and a 3.0.1a
  // patch that must not match 3.0.1), both dialects, every variation above, one patch shared by
  // 3.0.1 and 3.0.2, a KB note, an undated patch, a page without md5, distractor links on the index.
  static SampleSite standard();
  // `count` patches for one version, dialects alternating, each bundle about `bundle_bytes` (bench).
  static SampleSite generated(std::size_t count, std::size_t bundle_bytes, const std::string& version = "3.5.0");

  void add_patch(const SamplePatch& patch);  // (re)generates its page and bundle, and the index
  void remove_patch(const std::string& id);
  const std::vector<SamplePatch>& patches() const { return patches_; }
  const SamplePatch& patch(const std::string& id) const;

  // Paths relative to the site root, no leading '/'.
  static std::string index_path() { return "download/vi/vi3_patches.html"; }
  std::string page_path(const std::string& id) const;  // "download/vi/<kb>-patch.html"
  // Dialect 1: "software/vi/<id>.tgz" (like download3.vmware.com); dialect 2: next to its page,
  // "download/vi/<id>.tgz". "" for a KB note (no bundle).
  std::string bundle_path(const std::string& id) const;

  // Every served file: path -> bytes.
  const std::map<std::string, std::string>& files() const { return files_; }
  void set_file(const std::string& path, std::string content);             // replace or add any file
  std::string md5_of(const std::string& id) const;                         // of the bundle as served now
  std::vector<ArchiveEntry> bundle_contents(const std::string& id) const;  // what unpacking must yield
  // What the bundle directory must hold (DESIGN §5): bundle_contents with the archive's top directory
  // "<id>/" removed, so "contents.xml" is directly inside; the top directory itself is not listed.
  std::vector<ArchiveEntry> placed_contents(const std::string& id) const;

 private:
  void render_index();
  std::vector<SamplePatch> patches_;
  std::map<std::string, std::string> files_;
};

}  // namespace esxmirror::testing
