// Issue 13.3: secrets at rest. A sync of http://alice:S3cretPw@host/...?token=Tok3nValue sends the
// credentials to that host but keeps every URL without them: no byte of the state database, its -wal or
// -shm, the report, the log, the metrics or the mirror holds the password or the token. A state database
// an older release wrote with them in clear is scrubbed on migration (then rebuilt, so no free page keeps
// them), its pages are read once again, and no bundle is downloaded again.
#include <sqlite3.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/mirror_fixture.hpp"
#include "support/old_release.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

const std::string kPassword = "S3cretPw";
const std::string kToken = "Tok3nValue";

// The source URL with the secrets in it, as an operator would write it.
std::string secret_source(const MirrorFixture& f) {
  std::string url = f.server.index_url() + "?token=" + kToken;
  return url.replace(url.find("://") + 3, 0, "alice:" + kPassword + "@");
}

std::string secret_base(const MirrorFixture& f) {
  std::string base = f.server.base_url();
  return base.replace(base.find("://") + 3, 0, "alice:" + kPassword + "@");
}

// Every byte of every file under `dir`.
std::string all_bytes_under(const fs::path& dir) {
  std::string bytes;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    if (entry.is_regular_file() && !entry.is_symlink()) bytes += slurp(entry.path());
  }
  return bytes;
}

fs::path state_db(const MirrorFixture& f) { return f.dest / ".esxmirror" / "state.db"; }

// The database and its -wal and -shm, byte for byte (those that exist).
std::string state_bytes(const MirrorFixture& f) {
  return slurp(state_db(f)) + slurp(state_db(f).string() + "-wal") + slurp(state_db(f).string() + "-shm");
}

// Another connection to the state database, held open while esxmirror runs: its connection is then not
// the last one, so SQLite leaves the -wal file (with what the run wrote) for the test to read.
class WalKeeper {
 public:
  explicit WalKeeper(const fs::path& db) {
    REQUIRE(sqlite3_open_v2(db.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK);
    // One read, so the connection really attaches to the -wal and -shm (opening alone touches nothing).
    REQUIRE(sqlite3_exec(db_, "SELECT count(*) FROM sqlite_master", nullptr, nullptr, nullptr) == SQLITE_OK);
  }
  ~WalKeeper() { sqlite3_close(db_); }
  WalKeeper(const WalKeeper&) = delete;
  WalKeeper& operator=(const WalKeeper&) = delete;

 private:
  sqlite3* db_ = nullptr;
};

ProcessResult sync_with_secrets(const MirrorFixture& f, const std::vector<std::string>& extra) {
  std::vector<std::string> args = {"sync",     "--source",        secret_source(f), "--dest", f.dest.string(),
                                   "--config", f.config.string(), "--esx-version",  "3.0.1",  "--esx-version",
                                   "3.0.2"};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_process(binary_path(), args);
}

void check_no_secret(const std::string& what, const std::string& bytes) {
  INFO(what);
  CHECK(bytes.find(kPassword) == std::string::npos);
  CHECK(bytes.find(kToken) == std::string::npos);
}

std::size_t bundle_requests(const SiteServer& server) {
  std::size_t n = 0;
  for (const Hit& hit : server.hits()) n += has(hit.path, ".tgz") ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE(
    "secrets at rest: a source with a password and a token is mirrored with them, and no byte written keeps "
    "either",
    "[secrets]") {
  MirrorFixture f;
  f.server.require_auth("alice:" + kPassword);  // every page and bundle wants the credentials
  const fs::path report = f.tmp / "report.json", metrics = f.tmp / "esxmirror.prom", log = f.tmp / "esxmirror.log";
  const std::vector<std::string> outputs = {"--report",   report.string(), "--metrics", metrics.string(),
                                            "--log-file", log.string(),    "-v"};
  ProcessResult r = sync_with_secrets(f, outputs);
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  // The credentials reached the source's host for pages and bundles alike (absolute bundle links too).
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  for (const std::string& id : k302) CHECK(f.bundle_matches_site("3.0.2", id));
  for (const Hit& hit : f.server.hits()) CHECK(hit.status != 401);

  check_no_secret("output", r.all());
  check_no_secret("report", slurp(report));
  check_no_secret("metrics", slurp(metrics));
  check_no_secret("log", slurp(log));
  check_no_secret("the mirror, state included", all_bytes_under(f.dest));
  CHECK(slurp(state_db(f)).find("alice") == std::string::npos);  // no userinfo at all, not even the user

  // A second run, with a new patch to record, while another connection keeps the -wal file around.
  SamplePatch added;
  added.id = "ESX-1004000", added.kb = "1004000", added.versions = {"3.0.1"};
  added.date_text = "1/15/08", added.iso_date = "2008-01-15";
  f.server.edit([&](SampleSite& site) { site.add_patch(added); });
  {
    WalKeeper keeper(state_db(f));
    ProcessResult again = sync_with_secrets(f, outputs);
    INFO(again.all());
    REQUIRE(again.exit_code == 0);
    CHECK(f.bundle_matches_site("3.0.1", "ESX-1004000"));
    REQUIRE(fs::file_size(state_db(f).string() + "-wal") > 0);
    check_no_secret("state database, -wal and -shm", state_bytes(f));
    CHECK(state_bytes(f).find("alice") == std::string::npos);
    check_no_secret("output", again.all());
  }
  check_no_secret("report", slurp(report));
  check_no_secret("log", slurp(log));
  // What list and status show is as clean.
  for (const char* command : {"list", "status"}) {
    ProcessResult shown = f.command(command, {"--json"});
    REQUIRE(shown.exit_code == 0);
    check_no_secret(command, shown.all());
  }
}

TEST_CASE(
    "secrets at rest: a state database an older release wrote with the secrets in clear is scrubbed on "
    "migration, every page is read again once, and no bundle is downloaded again",
    "[secrets][migration]") {
  MirrorFixture f;
  f.server.require_auth("alice:" + kPassword);
  REQUIRE(sync_with_secrets(f, {}).exit_code == 0);
  const OldReleaseSecrets secrets{f.server.base_url(), secret_base(f), f.server.index_url() + "?token={token}",
                                  secret_source(f)};
  make_old_release_mirror(f.dest, &secrets);
  REQUIRE(slurp(state_db(f)).find(kPassword) != std::string::npos);  // what the old release left
  REQUIRE(slurp(state_db(f)).find(kToken) != std::string::npos);
  f.server.reset_hits();

  {
    WalKeeper keeper(state_db(f));
    ProcessResult r = sync_with_secrets(f, {});
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    REQUIRE(fs::file_size(state_db(f).string() + "-wal") > 0);
    check_no_secret("state database, -wal and -shm after the migration", state_bytes(f));
    CHECK(state_bytes(f).find("alice") == std::string::npos);
  }
  check_no_secret("state database after the last connection closed", slurp(state_db(f)));
  CHECK(bundle_requests(f.server) == 0);
  // Every page was read again (its record may have lost a value in the scrub), once: with a body.
  SampleSite site = f.server.site();
  std::vector<std::string> pages = {SampleSite::index_path()};
  for (const SamplePatch& p : site.patches()) pages.push_back(site.page_path(p.id));
  for (const std::string& page : pages) {
    INFO(page);
    CHECK(f.server.body_count(page) == 1);
  }
  for (const std::string& id : k301) CHECK(f.bundle_matches_site("3.0.1", id));
  ProcessResult verify = f.command("verify");
  INFO(verify.all());
  CHECK(verify.exit_code == 0);
  auto list = nlohmann::json::parse(f.command("list", {"--json"}).out);
  for (const auto& item : list) {
    INFO(item.dump());
    const SamplePatch& p = site.patch(item["id"].get<std::string>());
    bool selected = std::find(p.versions.begin(), p.versions.end(), "3.0.1") != p.versions.end() ||
                    std::find(p.versions.begin(), p.versions.end(), "3.0.2") != p.versions.end();
    if (p.kb_note) {
      CHECK(item["state"] == "no-bundle");  // the old release kept no KB notes: read again, now listed
    } else if (selected) {
      CHECK(item["state"] == "placed");
    }
  }

  // Once read again, the pages are asked conditionally like any night's.
  f.server.reset_hits();
  ProcessResult next = sync_with_secrets(f, {});
  INFO(next.all());
  REQUIRE(next.exit_code == 0);
  for (const Hit& hit : f.server.hits()) {
    INFO(hit.path);
    CHECK(hit.status == 304);
  }
}
