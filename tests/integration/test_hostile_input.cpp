// Issue 4.4 and 4.5: hostile archives and hostile pages, end to end through the real binary. A hostile
// bundle fails its patch with a reason naming the entry, nothing is ever written outside the mirror, and
// the other patches are placed; hostile pages are refused or yield nothing, never a crash or a hang.
#include <catch2/catch.hpp>

#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
using Type = ArchiveEntry::Type;

namespace {

const std::vector<std::string> k302_only = {"ESX-1002087", "ESX-1002424", "ESX-1002425"};

// Every file outside the mirror in the test's directory, with its bytes: must not change in a run.
std::map<std::string, std::string> outside(const MirrorFixture& f) {
  std::map<std::string, std::string> files;
  for (auto it = fs::recursive_directory_iterator(f.tmp.path()); it != fs::recursive_directory_iterator(); ++it) {
    if (it->path() == f.dest) {
      it.disable_recursion_pending();
      continue;
    }
    std::string rel = it->path().lexically_relative(f.tmp.path()).generic_string();
    files[rel] = it->is_regular_file() && !it->is_symlink() ? slurp(it->path()) : std::string("(not a file)");
  }
  return files;
}

// No file with one of the telltale names anywhere under the test's directory (inside the mirror too).
void check_no_evil_files(const MirrorFixture& f) {
  for (const auto& entry : fs::recursive_directory_iterator(f.tmp.path())) {
    INFO(entry.path());
    CHECK_FALSE(has(entry.path().filename().string(), "-evil"));
  }
  for (const char* spot : {"/dotdot-evil", "/tmp/dotdot-evil", "/etc/absolute-evil"}) CHECK_FALSE(fs::exists(spot));
}

// Staging holds no half-unpacked tree after the run.
void check_staging_clean(const MirrorFixture& f) {
  const fs::path staging = f.dest / ".esxmirror" / "staging";
  if (!fs::exists(staging)) return;
  for (const auto& entry : fs::directory_iterator(staging)) {
    INFO(entry.path());
    CHECK_FALSE(entry.is_directory());
  }
}

std::set<std::string> failed_ids(MirrorFixture& f) {
  ProcessResult list = f.command("list", {"--state-filter", "failed", "--json"});
  REQUIRE(list.exit_code == 0);
  std::set<std::string> ids;
  for (const auto& entry : nlohmann::json::parse(list.out)) ids.insert(entry["id"].get<std::string>());
  return ids;
}

// A hostile bundle for `id`: a normal-looking top directory and file first, then the tricks.
std::string hostile(const std::string& id, std::vector<ArchiveEntry> tricks,
                    ArchiveFormat format = ArchiveFormat::tar_gz) {
  std::vector<ArchiveEntry> entries = {{id + "/", Type::directory, "", "", 0755},
                                       {id + "/contents.xml", Type::file, "<contents/>\n", "", 0644}};
  entries.insert(entries.end(), tricks.begin(), tricks.end());
  return build_archive(entries, format, 9);
}

// One refusal the run must report: the patch, and what the message must name.
struct Refusal {
  std::string id;
  std::vector<std::string> names;
};

// Runs a sync of 3.0.1 and 3.0.2 and checks: exit 1, each refused patch named with its reasons and not
// placed, every other patch placed intact, nothing outside the mirror touched, staging clean.
void run_and_check(MirrorFixture& f, const std::vector<Refusal>& refused, const std::set<std::string>& custom = {}) {
  fs::path sentinel_dir = f.tmp / "outside";
  fs::create_directories(sentinel_dir);
  std::ofstream(sentinel_dir / "sentinel") << "original\n";
  auto before = outside(f);

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  std::set<std::string> refused_ids;
  for (const Refusal& refusal : refused) {
    INFO(refusal.id);
    refused_ids.insert(refusal.id);
    CHECK(has(r.err, "esxmirror: error: " + refusal.id + ": "));
    for (const std::string& name : refusal.names) CHECK(has(r.err, name));
    CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", refusal.id)));
    CHECK_FALSE(fs::exists(fs::symlink_status(f.bundle_dir("3.0.2", refusal.id))));
  }
  for (const std::string& id : k301) {
    if (!refused_ids.count(id) && !custom.count(id)) CHECK(f.bundle_matches_site("3.0.1", id));
  }
  for (const std::string& id : k302_only) {
    if (!refused_ids.count(id) && !custom.count(id)) CHECK(f.bundle_matches_site("3.0.2", id));
  }
  CHECK(failed_ids(f) == refused_ids);
  CHECK(outside(f) == before);
  CHECK(slurp(sentinel_dir / "sentinel") == "original\n");
  check_no_evil_files(f);
  check_staging_clean(f);
}

std::string random_bytes(std::size_t n, unsigned seed) {
  std::mt19937 random(seed);
  std::string bytes(n, '\0');
  for (char& c : bytes) c = static_cast<char>(random() & 0xff);
  return bytes;
}

// Replaces `from` with `to` in the page of `id` (which must contain it).
void edit_page(MirrorFixture& f, const std::string& id, const std::string& from, const std::string& to) {
  f.server.edit([&](SampleSite& site) {
    std::string page = site.files().at(site.page_path(id));
    auto at = page.find(from);
    REQUIRE(at != std::string::npos);
    page.replace(at, from.size(), to);
    site.set_file(site.page_path(id), page);
  });
}

void set_index(MirrorFixture& f, const std::string& html) {
  f.server.edit([&](SampleSite& site) { site.set_file(SampleSite::index_path(), html); });
}

}  // namespace

// ---- hostile archives ----

TEST_CASE(
    "hostile archives: '..', absolute paths, writes through symlinks and hardlinks out are refused by name, "
    "nothing is written outside the mirror",
    "[hostile][archive]") {
  MirrorFixture f;
  const std::string sentinel = (f.tmp / "outside" / "sentinel").string();
  const std::string absolute = (f.tmp / "outside" / "absolute-evil").string();
  f.replace_bundle("ESX-1000039",
                   hostile("ESX-1000039", {{"ESX-1000039/../../../../dotdot-evil", Type::file, "x", "", 0644}}));
  f.replace_bundle("ESX-1000050", hostile("ESX-1000050", {{absolute, Type::file, "x", "", 0644}}));
  f.replace_bundle("ESX-1000070",
                   hostile("ESX-1000070", {{"ESX-1000070/up", Type::symlink, "", "../../../../outside", 0777},
                                           {"ESX-1000070/up/link-evil", Type::file, "x", "", 0644}}));
  // A symlink inside the bundle, then a write through it: refused too (a later entry must never land
  // somewhere other than its own name).
  f.replace_bundle("ESX-1001724",
                   hostile("ESX-1001724", {{"ESX-1001724/dir/", Type::directory, "", "", 0755},
                                           {"ESX-1001724/alias", Type::symlink, "", "dir", 0777},
                                           {"ESX-1001724/alias/through-evil", Type::file, "x", "", 0644}}));
  // A hardlink to a file outside, then a write meant to land in it.
  f.replace_bundle("ESX-1002082", hostile("ESX-1002082", {{"ESX-1002082/hl", Type::hardlink, "", sentinel, 0644},
                                                          {"ESX-1002082/hl", Type::file, "pwned\n", "", 0644}}));
  run_and_check(f, {{"ESX-1000039", {"ESX-1000039/../../../../dotdot-evil", "leaves the bundle directory"}},
                    {"ESX-1000050", {absolute, "absolute path"}},
                    {"ESX-1000070", {"ESX-1000070/up", "leaves the bundle directory"}},
                    {"ESX-1001724", {"ESX-1001724/alias/through-evil", "through the symlink"}},
                    {"ESX-1002082", {"ESX-1002082/hl", "hardlink target '" + sentinel + "' is absolute"}}});
}

TEST_CASE(
    "hostile archives: device nodes, fifos, symlinks and hardlinks leading out are refused, setuid and setgid "
    "bits are stripped from what is placed",
    "[hostile][archive]") {
  MirrorFixture f;
  f.replace_bundle("ESX-1000039", hostile("ESX-1000039", {{"ESX-1000039/dev-evil", Type::char_device, "", "", 0666}}));
  f.replace_bundle("ESX-1000050", hostile("ESX-1000050", {{"ESX-1000050/fifo-evil", Type::fifo, "", "", 0644}}));
  f.replace_bundle("ESX-1001724", hostile("ESX-1001724", {{"ESX-1001724/etc", Type::symlink, "", "/etc", 0777}}));
  f.replace_bundle("ESX-1002082",
                   hostile("ESX-1002082", {{"ESX-1002082/hl", Type::hardlink, "", "../../../outside/sentinel", 0644}}));
  // Placed, without the dangerous bits.
  f.replace_bundle("ESX-1000070",
                   hostile("ESX-1000070", {{"ESX-1000070/bin/", Type::directory, "", "", 02775},
                                           {"ESX-1000070/bin/tool", Type::file, "#!/bin/sh\n", "", 06755},
                                           {"ESX-1000070/bin/sticky/", Type::directory, "", "", 01777}}));
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});  // a first look at the setuid bundle alone
  INFO(r.all());
  fs::path tool = f.dest / "3.0.1" / "2007-04-12_ESX-1000070" / "bin" / "tool";
  REQUIRE(fs::is_regular_file(tool));
  struct stat info {};
  REQUIRE(::stat(tool.c_str(), &info) == 0);
  CHECK((info.st_mode & 07000) == 0);
  CHECK((info.st_mode & 0755) == 0755);
  REQUIRE(::stat(tool.parent_path().c_str(), &info) == 0);
  CHECK((info.st_mode & 07000) == 0);
  REQUIRE(::stat((tool.parent_path() / "sticky").c_str(), &info) == 0);
  CHECK((info.st_mode & 07000) == 0);
  CHECK(has(r.err, "stripped setuid and setgid bits from ESX-1000070/bin/tool"));
  CHECK(slurp(tool) == "#!/bin/sh\n");

  fs::remove_all(f.dest);
  run_and_check(f,
                {{"ESX-1000039", {"ESX-1000039/dev-evil", "character device"}},
                 {"ESX-1000050", {"ESX-1000050/fifo-evil", "fifo"}},
                 {"ESX-1001724", {"ESX-1001724/etc", "'/etc' is absolute"}},
                 {"ESX-1002082", {"ESX-1002082/hl", "leaves the bundle directory"}}},
                {"ESX-1000070"});
  CHECK(slurp(tool) == "#!/bin/sh\n");
  REQUIRE(::stat(tool.c_str(), &info) == 0);
  CHECK((info.st_mode & 07000) == 0);
}

TEST_CASE(
    "hostile archives: a decompression bomb, a bundle past the byte limit and one with too many entries are "
    "refused under the configured limits",
    "[hostile][archive]") {
  MirrorFixture f;
  configure(f, "max_unpack_ratio = 50\nmax_unpack_bytes = \"2M\"\nmax_unpack_entries = 200\n");
  // 16 MiB of zeros gzip to ~16 KiB: a ratio of ~1000.
  f.replace_bundle(
      "ESX-1000039",
      hostile("ESX-1000039", {{"ESX-1000039/bomb-evil", Type::file, std::string(16u << 20, '\0'), "", 0644}}));
  // 3 MiB of random bytes: an honest ratio, but past the 2 MiB written-bytes limit.
  f.replace_bundle("ESX-1000050",
                   build_archive({{"ESX-1000050/", Type::directory, "", "", 0755},
                                  {"ESX-1000050/big-evil", Type::file, random_bytes(3u << 20, 7), "", 0644}},
                                 ArchiveFormat::tar_gz, 0));
  std::vector<ArchiveEntry> many;
  for (int i = 0; i < 300; ++i)
    many.push_back({"ESX-1000070/f" + std::to_string(i), Type::file, std::string(200, 'a' + i % 26), "", 0644});
  f.replace_bundle("ESX-1000070", hostile("ESX-1000070", many));
  run_and_check(
      f, {{"ESX-1000039", {"ESX-1000039/bomb-evil", "more than 50 times the archive size", "decompression bomb"}},
          {"ESX-1000050", {"ESX-1000050/big-evil", "more than the limit of 2097152 bytes"}},
          {"ESX-1000070", {"more than 200 entries"}}});
}

TEST_CASE(
    "hostile archives: a .zip bundle (served under the .tgz name) with the same tricks is refused by name, "
    "an honest zip is placed",
    "[hostile][archive][zip]") {
  MirrorFixture f;
  configure(f, "max_unpack_ratio = 50\n");
  const std::string absolute = (f.tmp / "outside" / "absolute-evil").string();
  f.replace_bundle(
      "ESX-1000039",
      hostile("ESX-1000039", {{"ESX-1000039/../../../../dotdot-evil", Type::file, "x", "", 0644}}, ArchiveFormat::zip));
  f.replace_bundle("ESX-1000050", hostile("ESX-1000050", {{absolute, Type::file, "x", "", 0644}}, ArchiveFormat::zip));
  f.replace_bundle("ESX-1000070", hostile("ESX-1000070",
                                          {{"ESX-1000070/up", Type::symlink, "", "../../../../outside", 0777},
                                           {"ESX-1000070/up/link-evil", Type::file, "x", "", 0644}},
                                          ArchiveFormat::zip));
  f.replace_bundle(
      "ESX-1001724",
      hostile("ESX-1001724", {{"ESX-1001724/bomb-evil", Type::file, std::string(16u << 20, '\0'), "", 0644}},
              ArchiveFormat::zip));
  f.replace_bundle("ESX-1002082",
                   hostile("ESX-1002082", {{"ESX-1002082/etc", Type::symlink, "", "/etc", 0777}}, ArchiveFormat::zip));
  // An honest zip with a setuid file: placed, bit stripped.
  std::vector<ArchiveEntry> honest = {{"ESX-1002087/", Type::directory, "", "", 0755},
                                      {"ESX-1002087/contents.xml", Type::file, "<contents/>\n", "", 0644},
                                      {"ESX-1002087/bin/", Type::directory, "", "", 0755},
                                      {"ESX-1002087/bin/tool", Type::file, "#!/bin/sh\n", "", 04755}};
  f.replace_bundle("ESX-1002087", build_archive(honest, ArchiveFormat::zip));
  // (No device node in a zip: the format has no place for one; libarchive refuses to write it.)

  fs::create_directories(f.tmp / "outside");
  std::ofstream(f.tmp / "outside" / "sentinel") << "original\n";
  auto before = outside(f);
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  const std::vector<Refusal> refused = {
      {"ESX-1000039", {"ESX-1000039/../../../../dotdot-evil", "leaves the bundle directory"}},
      {"ESX-1000050", {absolute, "absolute path"}},
      {"ESX-1000070", {"ESX-1000070/up", "leaves the bundle directory"}},
      {"ESX-1001724", {"ESX-1001724/bomb-evil", "decompression bomb"}},
      {"ESX-1002082", {"ESX-1002082/etc", "'/etc' is absolute"}}};
  for (const Refusal& refusal : refused) {
    INFO(refusal.id);
    CHECK(has(r.err, "esxmirror: error: " + refusal.id + ": "));
    for (const std::string& name : refusal.names) CHECK(has(r.err, name));
    CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", refusal.id)));
  }
  // Unpacked from the complete file (a zip is not streamed), laid out the same: its top directory is the
  // bundle directory.
  fs::path tool = f.bundle_dir("3.0.2", "ESX-1002087") / "bin" / "tool";
  REQUIRE(fs::is_regular_file(tool));
  CHECK(slurp(f.bundle_dir("3.0.2", "ESX-1002087") / "contents.xml") == "<contents/>\n");
  CHECK_FALSE(fs::exists(f.bundle_dir("3.0.2", "ESX-1002087") / "ESX-1002087"));
  CHECK(slurp(tool) == "#!/bin/sh\n");
  struct stat info {};
  REQUIRE(::stat(tool.c_str(), &info) == 0);
  CHECK((info.st_mode & 07000) == 0);
  CHECK(f.bundle_matches_site("3.0.2", "ESX-1002424"));
  CHECK(failed_ids(f) ==
        std::set<std::string>{"ESX-1000039", "ESX-1000050", "ESX-1000070", "ESX-1001724", "ESX-1002082"});
  CHECK(outside(f) == before);
  check_no_evil_files(f);
  check_staging_clean(f);
}

// ---- hostile pages ----

TEST_CASE("hostile pages: a page past max_page_bytes is refused with a clear message", "[hostile][pages]") {
  MirrorFixture f;
  configure(f, "max_page_bytes = 65536\n");
  const std::string padding = "<!-- " + std::string(100 * 1024, 'x') + " -->";
  SECTION("a detail page: its patch is not mirrored, the others are, exit 1") {
    SampleSite site = f.server.site();
    const std::string page = site.page_path("ESX-1000050");
    edit_page(f, "ESX-1000050", "</body>", padding + "</body>");
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 1);
    CHECK(has(r.err, "cannot read patch page " + f.server.url(page) + ": page larger than 65536 bytes"));
    CHECK(f.server.count(page) == 1);  // refused, not retried
    CHECK(f.server.count(site.bundle_path("ESX-1000050")) == 0);
    for (const std::string& id : k301) {
      if (id != "ESX-1000050") CHECK(f.bundle_matches_site("3.0.1", id));
    }
  }
  SECTION("the index: the source cannot be read, exit 4") {
    f.server.edit([&](SampleSite& site) {
      std::string index = site.files().at(SampleSite::index_path());
      index.insert(index.find("</body>"), padding);
      site.set_file(SampleSite::index_path(), index);
    });
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, "cannot read the patch index " + f.server.index_url() + ": page larger than 65536 bytes"));
    CHECK(f.server.hits().size() == 1);
  }
}

TEST_CASE("hostile pages: binary garbage as a detail page or as the index never crashes the run", "[hostile][pages]") {
  MirrorFixture f;
  std::string garbage = random_bytes(200 * 1024, 11);
  static const char tail[] =
      "<a href=\"<<<\0\0-patch.html\">\xff\xfe<h2>Download Patch ESX-\x01 for VMware \xc3\x28</h2>";
  garbage.append(tail, sizeof tail - 1);
  SECTION("a detail page: that page yields no patch (with a warning), the others are mirrored") {
    SampleSite site = f.server.site();
    const std::string page = site.page_path("ESX-1000050");
    f.server.edit([&](SampleSite& s) { s.set_file(page, garbage); });
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 0);
    CHECK(has(r.err, f.server.url(page)));
    CHECK(f.server.count(site.bundle_path("ESX-1000050")) == 0);
    CHECK_FALSE(fs::exists(f.dest / "3.0.1" / "2007-04-03_ESX-1000050"));
    for (const std::string& id : k301) {
      if (id != "ESX-1000050") CHECK(f.bundle_matches_site("3.0.1", id));
    }
  }
  SECTION("the index: not a patch index, exit 4") {
    set_index(f, garbage);
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, f.server.index_url() + " is not a patch index"));
    CHECK(f.server.hits().size() == 1);
  }
}

TEST_CASE("hostile pages: an index with 100k links (duplicates and other hosts) is handled quickly",
          "[hostile][pages]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  std::string index = site.files().at(SampleSite::index_path());
  std::string links;
  for (int i = 0; i < 50000; ++i) {
    links += "<a href=\"" + std::to_string(1000039 + (i % 2) * 11) + "-patch.html\">again</a>\n";  // duplicates
    links += "<a href=\"http://mirror" + std::to_string(i) + ".invalid/download/vi/" + std::to_string(2000000 + i) +
             "-patch.html\">elsewhere</a>\n";  // other hosts
  }
  index.insert(index.find("</body>"), links);
  set_index(f, index);

  auto started = std::chrono::steady_clock::now();
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  auto took = std::chrono::steady_clock::now() - started;
  INFO(r.err.substr(0, 2000));
  CHECK(r.exit_code == 0);
  CHECK(took < std::chrono::seconds(30));
  CHECK(has(r.err, "mirror0.invalid"));  // the other hosts are reported...
  CHECK(r.err.size() < 200 * 1024);      // ...without flooding the log with 50000 lines
  // Only the real site was asked: the index, each detail page once, the bundles.
  std::set<std::string> asked;
  for (const Hit& hit : f.server.hits()) asked.insert(hit.path);
  for (const std::string& path : asked) {
    INFO(path);
    CHECK((path == SampleSite::index_path() || has(path, "-patch.html") || has(path, ".tgz")));
  }
  CHECK(f.server.count(site.page_path("ESX-1000039")) == 1);
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
}

TEST_CASE("hostile pages: file:// and other schemes are refused, on the index and as download links, never opened",
          "[hostile][pages]") {
  MirrorFixture f;
  // A local "vendor site" the links point at: if anything opened it, ESX-1009999 would be mirrored.
  const fs::path local = f.tmp / "local";
  fs::create_directories(local);
  const std::string local_bundle = build_archive(bundle_entries("ESX-1009999", 4000, 1));
  std::ofstream(local / "ESX-1009999.tgz", std::ios::binary) << local_bundle;
  std::ofstream(local / "1009999-patch.html")
      << "<h2>Download Patch ESX-1009999 for VMware ESX Server 3.0.1</h2><p><b>Released 3/29/07</b></p>"
         "<p><a href=\"ESX-1009999.tgz\">Download Now</a></p>\n";
  const std::string file_url = "file://" + (local / "1009999-patch.html").string();

  SampleSite site = f.server.site();
  std::string index = site.files().at(SampleSite::index_path());
  index.insert(index.find("</body>"), "<a href=\"" + file_url +
                                          "\">local</a>\n"
                                          "<a href=\"ftp://127.0.0.1:" +
                                          std::to_string(f.server.port()) +
                                          "/download/vi/1000039-patch.html\">ftp</a>\n"
                                          "<a href=\"javascript:open('1000050-patch.html')\">js</a>\n"
                                          "<a href=\"gopher://127.0.0.1/1000070-patch.html\">gopher</a>\n"
                                          "<a href=\"data:text/html,1000039-patch.html\">data</a>\n");
  set_index(f, index);
  // Download links: a file:// bundle (with its md5 on the page, so only the scheme can stop it) and ftp.
  edit_page(f, "ESX-1000039", "../../software/vi/ESX-1000039.tgz", "file://" + (local / "ESX-1009999.tgz").string());
  f.set_page_md5("ESX-1000039", md5_hex(local_bundle));
  edit_page(f, "ESX-1000070", "{{BASE}}software/vi/ESX-1000070.tgz",
            "ftp://127.0.0.1:" + std::to_string(f.server.port()) + "/software/vi/ESX-1000070.tgz");

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);  // two selected patches cannot be mirrored
  // The refused download links are reported, naming the page and the link.
  CHECK(has(r.err, f.server.url(site.page_path("ESX-1000039"))));
  CHECK(has(r.err, "file://" + (local / "ESX-1009999.tgz").string()));
  CHECK(has(r.err, "is not http(s)"));
  CHECK(has(r.err, "ESX-1000070: download failed: only http and https URLs are allowed"));
  CHECK(has(r.err, "ftp://127.0.0.1"));
  CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", "ESX-1000039")));
  CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", "ESX-1000070")));
  for (const char* id : {"ESX-1000050", "ESX-1001724", "ESX-1002082"}) CHECK(f.bundle_matches_site("3.0.1", id));
  // Nothing of the local files was read into the mirror or the catalog.
  ProcessResult list = f.command("list", {"--json"});
  CHECK_FALSE(has(list.out, "ESX-1009999"));
  CHECK_FALSE(has(list.out, "file://"));
  for (const std::string& file : f.served_files()) CHECK_FALSE(has(file, "1009999"));
  // Only http requests reached the server, for pages it serves.
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.path);
    CHECK(hit.status != 404);
  }
}

TEST_CASE(
    "hostile pages: index links to other hosts are ignored with a warning unless --allow-host, bundles may "
    "come from the hosts the pages link them to",
    "[hostile][pages]") {
  MirrorFixture f;
  // A new patch whose page is linked through another host name ("localhost" is not the source's
  // 127.0.0.1), and an existing patch whose download link points at that other host.
  SamplePatch p;
  p.id = "ESX-1005000", p.kb = "1005000", p.versions = {"3.0.1"}, p.date_text = "2/2/08", p.iso_date = "2008-02-02";
  f.server.edit([&](SampleSite& site) { site.add_patch(p); });
  const std::string other = "http://localhost:" + std::to_string(f.server.port()) + "/";
  f.server.edit([&](SampleSite& site) {
    std::string index = site.files().at(SampleSite::index_path());
    for (const std::string& form :
         {std::string("{{BASE}}download/vi/1005000-patch.html"), std::string("/download/vi/1005000-patch.html"),
          std::string("1005000-patch.html")}) {
      for (auto at = index.find("\"" + form + "\""); at != std::string::npos; at = index.find("\"" + form + "\"")) {
        index.replace(at + 1, form.size(), other + "download/vi/1005000-patch.html");
      }
    }
    site.set_file(SampleSite::index_path(), index);
  });
  edit_page(f, "ESX-1000039", "../../software/vi/ESX-1000039.tgz", other + "software/vi/ESX-1000039.tgz");
  SampleSite site = f.server.site();
  REQUIRE(has(site.files().at(SampleSite::index_path()), other + "download/vi/1005000-patch.html"));

  SECTION("by default: the link is ignored with a warning naming it") {
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 0);
    CHECK(has(r.err, "ignoring link to another host: " + other + "download/vi/1005000-patch.html"));
    CHECK(f.server.count(site.page_path("ESX-1005000")) == 0);
    CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", "ESX-1005000")));
    // The bundle linked from a page of the source host is fetched from the host the page names.
    CHECK(f.bundle_matches_site("3.0.1", "ESX-1000039"));
    for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  }
  SECTION("with --allow-host localhost: followed and mirrored") {
    ProcessResult r = f.sync({"--esx-version", "3.0.1", "--allow-host", "localhost"});
    INFO(r.all());
    CHECK(r.exit_code == 0);
    CHECK_FALSE(has(r.err, "ignoring link to another host"));
    CHECK(f.server.count(site.page_path("ESX-1005000")) == 1);
    CHECK(f.bundle_matches_site("3.0.1", "ESX-1005000"));
  }
}
