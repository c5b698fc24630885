// Issue 4.1: the fault matrix. Every fault the site server can inject, against the real binary, asserting
// the mirror on disk (what is placed, what is not, what partial is kept), the exit code, the message and
// the requests the server saw.
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

std::vector<Hit> hits_of(const SiteServer& server, const std::string& path) {
  std::vector<Hit> out;
  for (const Hit& hit : server.hits()) {
    if (hit.path == path) out.push_back(hit);
  }
  return out;
}

// Every bundle of `ids` under `version` except `broken` is placed and holds exactly the site's bytes;
// `broken` has no directory under its final name.
void check_only_broken_missing(const MirrorFixture& f, const std::string& version, const std::vector<std::string>& ids,
                               const std::vector<std::string>& broken) {
  for (const std::string& id : ids) {
    INFO(version << " " << id);
    if (std::find(broken.begin(), broken.end(), id) != broken.end()) {
      CHECK_FALSE(fs::exists(fs::symlink_status(f.bundle_dir(version, id))));
    } else {
      CHECK(f.bundle_matches_site(version, id));
    }
  }
}

// Nothing half-unpacked stays in staging and nothing but finished bundles is served.
void check_no_debris(const MirrorFixture& f) {
  fs::path staging = f.dest / ".esxmirror" / "staging";
  if (fs::exists(staging)) {
    for (const auto& entry : fs::directory_iterator(staging)) {
      INFO(entry.path());
      CHECK_FALSE(entry.is_directory());
    }
  }
  for (const std::string& file : f.served_files()) {
    INFO(file);
    CHECK_FALSE(has(file, ".tmp-"));
    CHECK_FALSE(has(file, ".part"));
    CHECK_FALSE(has(file, ".archive"));
    CHECK_FALSE(has(file, ".unpack"));
  }
}

// The patches the catalog lists as failed.
std::set<std::string> failed_ids(MirrorFixture& f) {
  ProcessResult list = f.command("list", {"--state-filter", "failed", "--json"});
  REQUIRE(list.exit_code == 0);
  std::set<std::string> ids;
  for (const auto& entry : nlohmann::json::parse(list.out)) ids.insert(entry["id"].get<std::string>());
  return ids;
}

std::string staging_part(const MirrorFixture& f, const std::string& id) {
  return (f.dest / ".esxmirror" / "staging" / (id + ".archive.part")).string();
}

std::vector<ArchiveEntry> files_only(const std::vector<ArchiveEntry>& entries) {
  std::vector<ArchiveEntry> out;
  for (const ArchiveEntry& e : entries) {
    if (e.type == ArchiveEntry::Type::file) out.push_back(e);
  }
  return out;
}

}  // namespace

TEST_CASE("faults: a connection cut twice mid-bundle is resumed each time from where it stopped, no byte fetched twice",
          "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::string path = site.bundle_path("ESX-1000070");
  const std::size_t size = site.files().at(path).size();
  Fault cut;
  cut.cut_after_bytes = 8000;
  cut.cut_times = 2;
  f.server.set_fault(path, cut);

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 3);
  CHECK(hits[0].status == 200);
  CHECK(hits[0].body_bytes == 8000);
  CHECK(hits[1].status == 206);
  CHECK(hits[1].range == "bytes=8000-");
  CHECK_FALSE(hits[1].if_range.empty());
  CHECK(hits[1].body_bytes == 8000);
  CHECK(hits[2].status == 206);
  CHECK(hits[2].range == "bytes=16000-");
  CHECK(hits[2].body_bytes == size - 16000);
  check_only_broken_missing(f, "3.0.1", k301, {});
  check_no_debris(f);
}

TEST_CASE("faults: a cut download out of retries stays as a partial, and the next run resumes it with If-Range",
          "[faults]") {
  MirrorFixture f;
  configure(f, "retries = 1\n");
  SampleSite site = f.server.site();
  const std::string path = site.bundle_path("ESX-1000039");
  const std::size_t size = site.files().at(path).size();
  Fault cut;
  cut.cut_after_bytes = 10000;
  cut.cut_times = 1;
  f.server.set_fault(path, cut);

  ProcessResult first = f.sync({"--esx-version", "3.0.1"});
  INFO(first.all());
  CHECK(first.exit_code == 1);
  CHECK(has(first.all(), "ESX-1000039"));
  CHECK(has(first.all(), "connection cut after 10000 bytes"));
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039"});
  REQUIRE(fs::is_regular_file(staging_part(f, "ESX-1000039")));
  CHECK(fs::file_size(staging_part(f, "ESX-1000039")) == 10000);
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000039"});
  check_no_debris(f);

  f.server.reset_hits();
  ProcessResult second = f.sync({"--esx-version", "3.0.1"});
  INFO(second.all());
  REQUIRE(second.exit_code == 0);
  std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].status == 206);
  CHECK(hits[0].range == "bytes=10000-");
  CHECK(hits[0].if_range == "\"" + site.md5_of("ESX-1000039") + "\"");
  CHECK(hits[0].body_bytes == size - 10000);
  check_only_broken_missing(f, "3.0.1", k301, {});
  CHECK_FALSE(fs::exists(staging_part(f, "ESX-1000039")));
  CHECK(failed_ids(f).empty());
  check_no_debris(f);
}

TEST_CASE("faults: a bundle that changed on the server between the cut and the resume is fetched whole, never glued",
          "[faults]") {
  MirrorFixture f;
  configure(f, "retries = 1\n");
  const std::string path = f.server.site().bundle_path("ESX-1000039");
  Fault cut;
  cut.cut_after_bytes = 10000;
  cut.cut_times = 1;
  f.server.set_fault(path, cut);
  ProcessResult first = f.sync({"--esx-version", "3.0.1"});
  INFO(first.all());
  REQUIRE(first.exit_code == 1);
  REQUIRE(fs::file_size(staging_part(f, "ESX-1000039")) == 10000);

  // A new build of the bundle, same name, new bytes (and the page's md5 follows it).
  std::vector<ArchiveEntry> entries = bundle_entries("ESX-1000039", 45000, 4242);
  const std::string new_archive = build_archive(entries);
  f.replace_bundle("ESX-1000039", new_archive);
  f.server.reset_hits();

  ProcessResult second = f.sync({"--esx-version", "3.0.1"});
  INFO(second.all());
  REQUIRE(second.exit_code == 0);
  std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 1);
  CHECK(hits[0].range == "bytes=10000-");  // asked to continue...
  CHECK_FALSE(hits[0].if_range.empty());   // ...only if it is still the same file
  CHECK(hits[0].status == 200);            // it is not: the whole new file came
  CHECK(hits[0].body_bytes == new_archive.size());
  fs::path dir = f.bundle_dir("3.0.1", "ESX-1000039");
  for (const ArchiveEntry& e : files_only(entries)) CHECK(slurp(dir / placed_path("ESX-1000039", e.path)) == e.content);
  check_only_broken_missing(f, "3.0.1", {"ESX-1000050", "ESX-1000070", "ESX-1001724", "ESX-1002082"}, {});
  check_no_debris(f);
}

TEST_CASE("faults: bytes flipped once in transit are caught by the md5, fetched again in the same run and placed",
          "[faults]") {
  MirrorFixture f;
  const std::string path = f.server.site().bundle_path("ESX-1000050");
  Fault flip;
  flip.flip_offset = 5000;
  flip.flip_times = 1;
  f.server.set_fault(path, flip);

  const fs::path report_file = f.tmp.path() / "report.json";
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--report", report_file.string()});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(has(r.all(), "ESX-1000050: md5 mismatch"));
  CHECK(has(r.all(), "fetching it again"));
  // Told once as it happened, and kept in the report for whoever reads the night's JSON.
  const std::string told = "ESX-1000050: md5 mismatch";
  CHECK(r.err.find(told) == r.err.rfind(told));
  const nlohmann::json report = nlohmann::json::parse(slurp(report_file));
  bool in_report = false;
  for (const auto& warning : report["warnings"]) {
    in_report = in_report || has(warning.get<std::string>(), "ESX-1000050: md5 mismatch");
  }
  CHECK(in_report);
  std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 2);
  CHECK(hits[1].range.empty());  // the bad bytes are not resumed from: the whole file again
  CHECK(hits[1].status == 200);
  check_only_broken_missing(f, "3.0.1", k301, {});
  CHECK(failed_ids(f).empty());
  check_no_debris(f);
}

TEST_CASE("faults: bytes flipped on every download are fetched twice, then failed with an md5 mismatch, never placed",
          "[faults]") {
  MirrorFixture f;
  const std::string path = f.server.site().bundle_path("ESX-1000050");
  Fault flip;
  flip.flip_offset = 100;
  flip.flip_times = -1;
  f.server.set_fault(path, flip);

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000050"));
  CHECK(has(r.all(), "md5 mismatch: the page says " + f.server.site().md5_of("ESX-1000050")));
  CHECK(f.server.body_count(path) == 2);
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000050"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000050"});
  CHECK_FALSE(fs::exists(staging_part(f, "ESX-1000050")));  // bad bytes are not kept to resume from
  check_no_debris(f);
}

TEST_CASE("faults: bytes flipped in a bundle whose page shows no md5 are caught by the archive's own check",
          "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::string path = site.bundle_path("ESX-1002424");
  // Inside the compressed payload (level 0 deflate: stored blocks), so only the gzip CRC can tell.
  Fault flip;
  flip.flip_offset = static_cast<std::int64_t>(site.files().at(path).size() / 2);
  flip.flip_times = -1;
  f.server.set_fault(path, flip);

  ProcessResult r = f.sync({"--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1002424"));
  CHECK(has(r.all(), "damaged"));
  check_only_broken_missing(f, "3.0.2", k302, {"ESX-1002424"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1002424"});
  check_no_debris(f);
}

TEST_CASE("faults: 429 with Retry-After is waited out (longer than the backoff) and the bundle is placed", "[faults]") {
  MirrorFixture f;
  // A cap above the 1 s Retry-After (the fixture's 200 ms cap would cut it), a base delay far below it.
  std::ofstream(f.config) << "retry_base_delay_ms = 20\nretry_max_delay_ms = 10000\n";
  const std::string path = f.server.site().bundle_path("ESX-1000039");
  Fault busy;
  busy.status = 429;
  busy.status_times = 1;
  busy.retry_after_s = 1;
  f.server.set_fault(path, busy);

  auto started = std::chrono::steady_clock::now();
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  auto took = std::chrono::steady_clock::now() - started;
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(took >= std::chrono::seconds(1));
  std::vector<Hit> hits = hits_of(f.server, path);
  REQUIRE(hits.size() == 2);
  CHECK(hits[0].status == 429);
  CHECK(hits[1].status == 200);
  check_only_broken_missing(f, "3.0.1", k301, {});
}

TEST_CASE("faults: 503 with Retry-After that never ends fails that patch after the configured attempts, others placed",
          "[faults]") {
  MirrorFixture f;
  configure(f, "retries = 3\n");
  const std::string path = f.server.site().bundle_path("ESX-1000070");
  Fault busy;
  busy.status = 503;
  busy.status_times = -1;
  busy.retry_after_s = 0;
  f.server.set_fault(path, busy);

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000070"));
  CHECK(has(r.all(), "HTTP 503 after 3 attempts"));
  CHECK(f.server.count(path) == 3);
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000070"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000070"});
  ProcessResult status = f.command("status");
  CHECK(has(status.out, "ESX-1000070"));
  CHECK(has(status.out, "HTTP 503"));
  check_no_debris(f);
}

TEST_CASE("faults: 404, 401 and 403 on bundles are not retried: one request each, those patches fail, others placed",
          "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::map<std::string, int> statuses = {{"ESX-1000039", 404}, {"ESX-1000050", 401}, {"ESX-1000070", 403}};
  for (const auto& [id, status] : statuses) {
    Fault fault;
    fault.status = status;
    fault.status_times = -1;
    f.server.set_fault(site.bundle_path(id), fault);
  }

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  for (const auto& [id, status] : statuses) {
    INFO(id);
    CHECK(f.server.count(site.bundle_path(id)) == 1);
    CHECK(has(r.all(), id + ": download failed: HTTP " + std::to_string(status)));
  }
  CHECK(has(r.all(), "HTTP 401 Unauthorized: check the credentials"));
  CHECK(has(r.all(), "HTTP 403 Forbidden: check the credentials"));
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039", "ESX-1000050", "ESX-1000070"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000039", "ESX-1000050", "ESX-1000070"});
  check_no_debris(f);
}

TEST_CASE("faults: 401 or 403 on the index page exits 4 with a message about credentials and entitlement", "[faults]") {
  MirrorFixture f;
  const std::string index = SampleSite::index_path();
  std::string expected_status;
  SECTION("401: the site wants a login") {
    f.server.require_auth("vmware:secret");
    expected_status = "HTTP 401";
  }
  SECTION("403: the account is not entitled") {
    Fault forbidden;
    forbidden.status = 403;
    forbidden.status_times = -1;
    f.server.set_fault(index, forbidden);
    expected_status = "HTTP 403";
  }
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err,
            "esxmirror: error: the patch index " + f.server.index_url() + " refused access (" + expected_status + ")"));
  CHECK(has(r.err, "credentials"));
  CHECK(has(r.err, "entitled"));
  CHECK(f.server.count(index) == 1);   // not retried
  CHECK(f.server.hits().size() == 1);  // and nothing else asked for
  CHECK(f.served_files().empty());     // no bundle, no index written
  ProcessResult status = f.command("status");
  CHECK(has(status.out, "exit 4"));
}

TEST_CASE("faults: a server dripping a bundle below the low-speed limit times that patch out, the others are placed",
          "[faults]") {
  MirrorFixture f;
  configure(f, "low_speed_limit = 20000\nlow_speed_time = 1\nretries = 2\n");
  const std::string path = f.server.site().bundle_path("ESX-1000050");
  Fault drip;
  drip.drip_bytes_per_s = 1000;
  f.server.set_fault(path, drip);

  auto started = std::chrono::steady_clock::now();
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  auto took = std::chrono::steady_clock::now() - started;
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000050"));
  CHECK(has(r.all(), "timed out: below 20000 B/s for 1 s"));
  CHECK(f.server.count(path) == 2);  // retried once, as configured
  CHECK(took < std::chrono::seconds(20));
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000050"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000050"});
  check_no_debris(f);
}

TEST_CASE("faults: an index page that never answers within the low-speed limit exits 4", "[faults]") {
  MirrorFixture f;
  configure(f, "low_speed_limit = 1000\nlow_speed_time = 1\nretries = 2\n");
  Fault slow;
  slow.delay_ms = 5000;
  f.server.set_fault(SampleSite::index_path(), slow);
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "cannot read the patch index " + f.server.index_url()));
  CHECK(has(r.err, "timed out"));
  CHECK(f.server.count(SampleSite::index_path()) == 2);
  CHECK(f.served_files().empty());
}

TEST_CASE("faults: a redirect loop fails with a clear error after a bounded number of hops", "[faults]") {
  MirrorFixture f;
  SECTION("on a bundle: that patch fails, the others are placed") {
    const std::string path = f.server.site().bundle_path("ESX-1000039");
    Fault loop;
    loop.redirect_to = path;
    f.server.set_fault(path, loop);
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 1);
    CHECK(has(r.all(), "ESX-1000039: download failed: too many redirects"));
    CHECK(f.server.count(path) == 6);  // the request and 5 hops, then it stops: not retried
    check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039"});
    check_no_debris(f);
  }
  SECTION("on the index: the source cannot be read, exit 4") {
    Fault loop;
    loop.redirect_to = "download/vi/elsewhere.html";
    f.server.set_fault(SampleSite::index_path(), loop);
    Fault back;
    back.redirect_to = SampleSite::index_path();
    f.server.set_fault("download/vi/elsewhere.html", back);
    ProcessResult r = f.sync({"--esx-version", "3.0.1"});
    INFO(r.all());
    CHECK(r.exit_code == 4);
    CHECK(has(r.err, "cannot read the patch index " + f.server.index_url() + ": too many redirects"));
    CHECK(f.server.hits().size() == 6);
    CHECK(f.served_files().empty());
  }
}

TEST_CASE("faults: an HTML page served where the bundle should be (captive portal) is never placed", "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  const std::string portal =
      "<html><head><title>Network Login</title></head><body><form>Accept the terms</form></body></html>\n";
  std::string version, id, expected;
  SECTION("page with an md5, served as text/html: refused for its content type") {
    version = "3.0.1", id = "ESX-1000050", expected = "HTML page instead of the bundle";
    Fault html;
    html.serve_html = true;
    f.server.set_fault(site.bundle_path(id), html);
  }
  SECTION("page without an md5, served as text/html: refused for its content type") {
    version = "3.0.2", id = "ESX-1002424", expected = "HTML page instead of the bundle";
    Fault html;
    html.serve_html = true;
    f.server.set_fault(site.bundle_path(id), html);
  }
  SECTION("page with an md5, HTML bytes under a gzip content type: the md5 refuses it") {
    version = "3.0.1", id = "ESX-1000039", expected = "md5 mismatch";
    f.server.edit([&](SampleSite& s) { s.set_file(s.bundle_path(id), portal); });
  }
  SECTION("page without an md5, HTML bytes under a gzip content type: the archive check refuses it") {
    version = "3.0.2", id = "ESX-1002424", expected = "damaged";
    f.server.edit([&](SampleSite& s) { s.set_file(s.bundle_path(id), portal); });
  }
  ProcessResult r = f.sync({"--esx-version", version});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), id + ": "));
  CHECK(has(r.all(), expected));
  check_only_broken_missing(f, version, version == "3.0.1" ? k301 : k302, {id});
  CHECK(failed_ids(f) == std::set<std::string>{id});
  check_no_debris(f);
}

TEST_CASE("faults: a truncated gzip is never placed, with or without an md5 on the page", "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  // The md5 on the page is made to match the truncated bytes: only the archive check can tell.
  const std::string with_md5 = site.files().at(site.bundle_path("ESX-1000070"));
  f.replace_bundle("ESX-1000070", with_md5.substr(0, with_md5.size() / 2));
  const std::string without_md5 = site.files().at(site.bundle_path("ESX-1002424"));
  f.replace_bundle("ESX-1002424", without_md5.substr(0, without_md5.size() - 100));

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000070"));
  CHECK(has(r.all(), "ESX-1002424"));
  CHECK(has(r.all(), "damaged"));
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000070"});
  check_only_broken_missing(f, "3.0.2", k302, {"ESX-1002424"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000070", "ESX-1002424"});
  check_no_debris(f);
}

TEST_CASE("faults: an empty file is never placed, with or without an md5 on the page", "[faults]") {
  MirrorFixture f;
  f.replace_bundle("ESX-1000039", "");  // the page's md5 becomes the empty file's
  f.replace_bundle("ESX-1002424", "");
  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000039"));
  CHECK(has(r.all(), "ESX-1002424"));
  CHECK(has(r.all(), "is damaged: it holds no entries"));
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039"});
  check_only_broken_missing(f, "3.0.2", k302, {"ESX-1002424"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000039", "ESX-1002424"});
  check_no_debris(f);
}

TEST_CASE("faults: a Content-Length announcing more bytes than are sent fails that patch, never placed", "[faults]") {
  MirrorFixture f;
  configure(f, "retries = 2\n");
  const std::string path = f.server.site().bundle_path("ESX-1000039");
  Fault lie;
  lie.content_length_delta = 1000;
  f.server.set_fault(path, lie);

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000039: download failed"));
  CHECK(f.server.count(path) <= 8);  // bounded: retries and restarts both have limits
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000039"});
  check_no_debris(f);
}

TEST_CASE("faults: a Content-Length announcing fewer bytes than the file: the md5 or the archive check refuses it",
          "[faults]") {
  MirrorFixture f;
  SampleSite site = f.server.site();
  Fault lie;
  lie.content_length_delta = -2000;
  f.server.set_fault(site.bundle_path("ESX-1000039"), lie);  // md5 on its page
  f.server.set_fault(site.bundle_path("ESX-1002424"), lie);  // no md5 on its page

  ProcessResult r = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2"});
  INFO(r.all());
  CHECK(r.exit_code == 1);
  CHECK(has(r.all(), "ESX-1000039: md5 mismatch"));
  CHECK(has(r.all(), "ESX-1002424"));
  CHECK(has(r.all(), "damaged"));
  CHECK(f.server.body_count(site.bundle_path("ESX-1000039")) == 2);  // fetched again once
  check_only_broken_missing(f, "3.0.1", k301, {"ESX-1000039"});
  check_only_broken_missing(f, "3.0.2", k302, {"ESX-1002424"});
  CHECK(failed_ids(f) == std::set<std::string>{"ESX-1000039", "ESX-1002424"});
  check_no_debris(f);
}

TEST_CASE("faults: an unreachable index exits 4 naming the URL, after the configured attempts", "[faults]") {
  MirrorFixture f;
  configure(f, "retries = 2\n");
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  std::set<std::string> before = f.served_files();
  f.server.stop();  // the port is closed now: connections are refused

  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  CHECK(r.exit_code == 4);
  CHECK(has(r.err, "esxmirror: error: cannot read the patch index " + f.server.index_url()));
  CHECK(has(r.err, "(2 attempts)"));
  // What was mirrored stays exactly as it was.
  CHECK(f.served_files() == before);
  check_only_broken_missing(f, "3.0.1", k301, {});
  ProcessResult status = f.command("status");
  CHECK(has(status.out, "exit 4"));
}

TEST_CASE("faults: a connection closed before the first body byte is retried and the bundle placed", "[faults]") {
  MirrorFixture f;
  const std::string path = f.server.site().bundle_path("ESX-1001724");
  Fault cut;
  cut.cut_after_bytes = 0;
  cut.cut_times = 2;
  f.server.set_fault(path, cut);
  ProcessResult r = f.sync({"--esx-version", "3.0.1"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  CHECK(f.server.count(path) == 3);
  check_only_broken_missing(f, "3.0.1", k301, {});
  check_no_debris(f);
}
