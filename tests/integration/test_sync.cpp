// Issue 2: an end-to-end sync of the legacy site over real HTTP, asserting the mirror on disk, the
// exit code and the requests the server saw.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include <nlohmann/json.hpp>

#include "esxmirror/util/strings.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// `text` as a regular expression matching itself.
std::string escaped(const std::string& text) {
  return std::regex_replace(text, std::regex(R"([.^$|()\[\]{}*+?\\])"), R"(\$&)");
}

// The bundle URL a dry run or a report shows for a patch of the standard site: masked (query values).
std::string shown_url(const MirrorFixture& f, const SamplePatch& p) {
  return f.server.url(f.server.site().bundle_path(p.id)) + (p.entity_in_link ? "?src=***&lang=***" : "");
}

std::size_t bodies_sent(const SiteServer& server) {
  std::size_t n = 0;
  for (const Hit& hit : server.hits()) {
    if (hit.body_bytes > 0) ++n;
  }
  return n;
}

}  // namespace

TEST_CASE("a fresh sync of one version mirrors exactly its bundles, unpacked and verified", "[sync]") {
  MirrorFixture f;
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);

  SampleSite site = f.server.site();
  for (const std::string& id : k301) {
    CHECK(fs::is_directory(f.bundle_dir("3.0.1", id)));
    CHECK(f.bundle_matches_site("3.0.1", id));
    CHECK(f.server.body_count(site.bundle_path(id)) == 1);
  }
  // The archive's top directory ESX-1000039/ is the bundle directory: its files directly inside (DESIGN §5).
  std::set<std::string> inside, expected;
  for (const auto& entry : fs::directory_iterator(f.dest / "3.0.1" / "2007-03-29_ESX-1000039")) {
    inside.insert(entry.path().filename().string());
  }
  for (const ArchiveEntry& entry : site.placed_contents("ESX-1000039")) expected.insert(entry.path);
  CHECK(inside == expected);
  CHECK(inside.count("contents.xml") == 1);
  CHECK(inside.count("descriptor.xml") == 1);
  // Exactly the 3.0.1 bundles: not 3.0.10, not 3.0.1a, no 3.0.2 directory, no archives left behind.
  std::size_t dirs = 0;
  for (const auto& entry : fs::directory_iterator(f.dest / "3.0.1")) {
    ++dirs;
    CHECK(entry.is_directory());
  }
  CHECK(dirs == k301.size());
  CHECK_FALSE(fs::exists(f.dest / "3.0.10"));
  CHECK_FALSE(fs::exists(f.dest / "3.0.1a"));
  CHECK_FALSE(fs::exists(f.dest / "3.0.2"));
  CHECK(f.server.count(site.bundle_path("ESX-1000100")) == 0);
  CHECK(f.server.count(site.bundle_path("ESX-1000101")) == 0);
  for (const std::string& file : f.served_files()) CHECK(file.find(".tgz") == std::string::npos);

  auto manifest = nlohmann::json::parse(slurp(f.dest / "manifest.json"));
  CHECK(manifest["versions"]["3.0.1"].size() == k301.size());
  CHECK(slurp(f.dest / "index.html").find("ESX-1000039") != std::string::npos);
}

TEST_CASE("a second run with nothing changed downloads no page body and no bundle", "[sync]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bodies_sent(f.server) == 0);
  CHECK(f.server.body_bytes() == 0);
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.path);
    CHECK(hit.status == 304);
    CHECK((!hit.if_none_match.empty() || !hit.if_modified_since.empty()));
  }
}

TEST_CASE("a new patch on the site is the only thing the next run fetches", "[sync]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  SamplePatch added;
  added.id = "ESX-1004000";
  added.kb = "1004000";
  added.versions = {"3.0.1"};
  added.date_text = "1/15/08";
  added.iso_date = "2008-01-15";
  f.server.edit([&](SampleSite& site) { site.add_patch(added); });
  f.server.reset_hits();

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  SampleSite site = f.server.site();
  std::set<std::string> with_body;
  for (const Hit& hit : f.server.hits()) {
    if (hit.body_bytes > 0) with_body.insert(hit.path);
  }
  CHECK(with_body == std::set<std::string>{SampleSite::index_path(), site.page_path("ESX-1004000"),
                                           site.bundle_path("ESX-1004000")});
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1004000"));
}

TEST_CASE("a bundle for two selected versions is downloaded and stored once, the other version links to it", "[sync]") {
  MirrorFixture f;
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  SampleSite site = f.server.site();
  CHECK(f.server.body_count(site.bundle_path("ESX-1001724")) == 1);
  fs::path link = f.dest / "3.0.2" / "2007-08-14_ESX-1001724";
  REQUIRE(fs::is_symlink(link));
  CHECK(fs::read_symlink(link) == fs::path("../3.0.1/2007-08-14_ESX-1001724"));
  CHECK(f.bundle_matches_site("3.0.2", "ESX-1001724"));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1002082"));
  // The undated patch is mirrored under undated_<bundle> with a warning; the KB note is no bundle.
  CHECK(fs::is_directory(f.dest / "3.0.2" / "undated_ESX-1002425"));
  CHECK(r.err.find("ESX-1002425") != std::string::npos);
  CHECK_FALSE(fs::exists(f.dest / "3.0.2" / "2007-12-20_ESX-1003176"));
}

TEST_CASE(
    "a dry run prints, at the default verbosity, each bundle it would fetch, replace or link, downloads no "
    "bundle and changes nothing, and the report carries the same list",
    "[sync][dry-run]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const fs::path report_file = f.tmp / "dry-run.json";
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--dry-run", "--report", report_file.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK_FALSE(fs::exists(f.dest));
  std::vector<std::string> lines = lines_of(r.out);
  REQUIRE(lines.size() == k301.size() + 1);
  for (std::size_t i = 0; i < k301.size(); ++i) {
    const SamplePatch& p = site.patch(k301[i]);
    INFO(lines[i]);
    CHECK(std::regex_match(lines[i], std::regex("would fetch +" + p.id + " +3\\.0\\.1 +" + p.iso_date + " +- +" +
                                                escaped(shown_url(f, p)))));
    CHECK(f.server.count(site.bundle_path(p.id)) == 0);
  }
  CHECK(has(lines.back(), "esxmirror: dry run: 5 to fetch, 0 to replace, 0 to link, 0 already mirrored;"));
  nlohmann::json report = nlohmann::json::parse(slurp(report_file));
  CHECK(report["dry_run"] == true);
  REQUIRE(report["patches"].size() == k301.size());
  for (const auto& entry : report["patches"]) {
    const SamplePatch& p = site.patch(entry["id"].get<std::string>());
    INFO(p.id);
    CHECK(entry["outcome"] == "planned");
    CHECK(entry["action"] == "fetch");
    CHECK(entry["versions"] == nlohmann::json::array({"3.0.1"}));
    CHECK(entry["release_date"] == p.iso_date);
    CHECK(entry["size"].is_null());
    CHECK(entry["url"] == shown_url(f, p));
  }

  // Against a mirror of 3.0.1, selecting 3.0.2 too: links for the shared bundles (their size is known),
  // a replacement for a bundle whose md5 changed, fetches for the rest; -q prints none of it.
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  f.replace_bundle("ESX-1000070", build_archive(bundle_entries("ESX-1000070", 20000, 777)));
  site = f.server.site();
  f.server.reset_hits();
  auto before = fs::last_write_time(f.dest / ".esxmirror" / "state.db");
  const std::set<std::string> served = f.served_files();
  ProcessResult again = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "--dry-run"});
  INFO(again.all());
  CHECK(again.exit_code == 0);
  lines = lines_of(again.out);
  auto line_of = [&](const std::string& id) {
    for (const std::string& line : lines) {
      if (has(line, " " + id + " ")) return line;
    }
    FAIL("no line for " << id);
    return std::string();
  };
  for (const char* id : {"ESX-1001724", "ESX-1002082"}) {
    const SamplePatch& p = site.patch(id);
    const std::string size = esxmirror::util::human_bytes(site.files().at(site.bundle_path(id)).size());
    CHECK(std::regex_match(line_of(id), std::regex("would link +" + p.id + " +3\\.0\\.1,3\\.0\\.2 +" + p.iso_date +
                                                   " +" + escaped(size) + " +" + escaped(shown_url(f, p)))));
  }
  CHECK(std::regex_match(line_of("ESX-1000070"), std::regex("would replace +ESX-1000070 +3\\.0\\.1 +2007-04-12 +- +" +
                                                            escaped(shown_url(f, site.patch("ESX-1000070"))) +
                                                            " \\(page md5 changed from [0-9a-f]{32} to " +
                                                            site.md5_of("ESX-1000070") + "\\)")));
  for (const char* id : {"ESX-1002087", "ESX-1002424"}) CHECK(has(line_of(id), "would fetch   " + std::string(id)));
  CHECK(std::regex_match(line_of("ESX-1002425"), std::regex("would fetch +ESX-1002425 +3\\.0\\.2 +undated +- .*")));
  CHECK(has(lines.back(), "dry run: 3 to fetch, 1 to replace, 2 to link, 2 already mirrored;"));
  CHECK(lines.size() == 7);
  CHECK(bodies_sent(f.server) > 0);
  for (const Hit& hit : f.server.hits()) CHECK_FALSE(has(hit.path, ".tgz"));
  CHECK(f.served_files() == served);
  CHECK_FALSE(fs::exists(f.dest / "3.0.2"));
  CHECK(fs::last_write_time(f.dest / ".esxmirror" / "state.db") == before);

  ProcessResult quiet = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "--dry-run", "-q"});
  CHECK(quiet.exit_code == 0);
  CHECK(quiet.out.empty());
}

TEST_CASE("a bundle whose md5 does not match its page is never placed, and the others are", "[sync][faults]") {
  MirrorFixture f;
  f.set_page_md5("ESX-1000050", "0123456789abcdef0123456789abcdef");
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", "ESX-1000050")));
  CHECK(r.all().find("ESX-1000050") != std::string::npos);
  CHECK(r.all().find("md5") != std::string::npos);
  for (const std::string& id : k301) {
    if (id != "ESX-1000050") CHECK(f.bundle_matches_site("3.0.1", id));
  }
  ProcessResult list = f.command("list", {"--state-filter", "failed", "--json"});
  auto failed = nlohmann::json::parse(list.out);
  REQUIRE(failed.size() == 1);
  CHECK(failed[0]["id"] == "ESX-1000050");
}

TEST_CASE("a connection cut mid-bundle is resumed with a Range request and the bytes are right", "[sync][faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  std::string path = site.bundle_path("ESX-1000039");
  Fault cut;
  cut.cut_after_bytes = 10000;
  cut.cut_times = 1;
  f.server.set_fault(path, cut);
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  bool resumed = false;
  for (const Hit& hit : f.server.hits()) {
    if (hit.path == path && hit.status == 206 && hit.range.find("bytes=10000-") != std::string::npos) resumed = true;
  }
  CHECK(resumed);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000039"));
}

TEST_CASE("503 twice, then success: the bundle is retried and placed", "[sync][faults]") {
  MirrorFixture f;
  std::string path = f.server.site().bundle_path("ESX-1000070");
  Fault busy;
  busy.status = 503;
  busy.status_times = 2;
  busy.retry_after_s = 0;
  f.server.set_fault(path, busy);
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(f.server.count(path) == 3);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000070"));
}

TEST_CASE("404 on one bundle: not retried, exit 1, the others placed", "[sync][faults]") {
  MirrorFixture f;
  std::string path = f.server.site().bundle_path("ESX-1000039");
  Fault gone;
  gone.status = 404;
  gone.status_times = -1;
  f.server.set_fault(path, gone);
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(f.server.count(path) == 1);
  CHECK(r.all().find("ESX-1000039") != std::string::npos);
  CHECK(r.all().find("404") != std::string::npos);
  CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", "ESX-1000039")));
  for (const std::string& id : k301) {
    if (id != "ESX-1000039") CHECK(f.bundle_matches_site("3.0.1", id));
  }
}

TEST_CASE("hostile archives are refused, naming the entry, and nothing is written outside the mirror",
          "[sync][hostile]") {
  MirrorFixture f;
  std::string absolute_target = (f.tmp / "absolute-evil").string();
  using Type = ArchiveEntry::Type;
  f.replace_bundle("ESX-1000039", build_archive({{"ESX-1000039/", Type::directory, "", "", 0755},
                                                 {"ESX-1000039/../../../dotdot-evil", Type::file, "x", "", 0644}}));
  f.replace_bundle("ESX-1000050", build_archive({{absolute_target, Type::file, "x", "", 0644}}));
  f.replace_bundle("ESX-1000070", build_archive({{"ESX-1000070/", Type::directory, "", "", 0755},
                                                 {"ESX-1000070/up", Type::symlink, "", "../../../..", 0777},
                                                 {"ESX-1000070/up/link-evil", Type::file, "x", "", 0644}}));
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(r.all().find("dotdot-evil") != std::string::npos);
  CHECK(r.all().find("absolute-evil") != std::string::npos);
  CHECK(r.all().find("ESX-1000070/up") != std::string::npos);
  for (const char* name : {"dotdot-evil", "absolute-evil", "link-evil"}) {
    for (const auto& entry : fs::recursive_directory_iterator(f.tmp.path())) {
      CHECK(entry.path().filename() != name);
    }
  }
  for (const char* id : {"ESX-1000039", "ESX-1000050", "ESX-1000070"})
    CHECK_FALSE(fs::exists(f.bundle_dir("3.0.1", id)));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1001724"));
  // Nothing of the refused bundles is left in staging either.
  for (const auto& entry : fs::directory_iterator(f.dest / ".esxmirror" / "staging")) {
    CHECK(entry.path().filename().string().find(".unpack") == std::string::npos);
  }
}

TEST_CASE("a page that now shows a different md5 makes the bundle be fetched again and swapped in", "[sync]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  std::vector<ArchiveEntry> entries = bundle_entries("ESX-1000039", 20000, 777);
  f.replace_bundle("ESX-1000039", build_archive(entries));

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "-v"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(r.all().find("md5 changed") != std::string::npos);
  fs::path dir = f.bundle_dir("3.0.1", "ESX-1000039");
  for (const ArchiveEntry& e : entries) {
    if (e.type == ArchiveEntry::Type::file) CHECK(slurp(dir / placed_path("ESX-1000039", e.path)) == e.content);
  }
}

TEST_CASE("keep-archives keeps the verified archive inside the bundle directory", "[sync]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1", "--keep-archives"}).exit_code == 0);
  SampleSite site = f.server.site();
  fs::path archive = f.bundle_dir("3.0.1", "ESX-1000039") / "ESX-1000039.tgz";
  REQUIRE(fs::is_regular_file(archive));
  CHECK(slurp(archive) == site.files().at(site.bundle_path("ESX-1000039")));
}

TEST_CASE("a bundle's download starts while later patch pages are still being read, and the next run fetches nothing",
          "[sync][pipeline]") {
  MirrorFixture f(SampleSite::generated(12, 4096));
  configure(f, "page_jobs = 1\n");  // 12 pages one by one: twelve round trips, long enough to see the overlap
  f.server.set_latency_ms(20);
  ProcessResult r = f.sync({"--esx-version", "3.5.0"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);

  const SampleSite site = f.server.site();
  double first_bundle = 1e9, last_page = 0;
  for (const Hit& hit : f.server.hits()) {
    if (has(hit.path, ".tgz")) first_bundle = std::min(first_bundle, hit.received_ms);
    if (has(hit.path, "-patch.html")) last_page = std::max(last_page, hit.received_ms);
  }
  INFO("first bundle asked at " << first_bundle << " ms, last page at " << last_page << " ms");
  CHECK(first_bundle < last_page);
  for (const SamplePatch& patch : site.patches()) {
    CHECK(f.server.body_count(site.bundle_path(patch.id)) == 1);
    CHECK(f.bundle_matches_site("3.5.0", patch.id));
  }

  f.server.set_latency_ms(0);
  f.server.reset_hits();
  r = f.sync({"--esx-version", "3.5.0"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(bodies_sent(f.server) == 0);
}
