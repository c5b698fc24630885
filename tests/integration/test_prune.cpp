// Issue 12 §3: retention. `esxmirror prune` removes legacy bundles superseded by newer placed bundles
// once those have been placed for keep_superseded_days, whole (directory, links, catalog rows, index and
// manifest entries), never one a selected version still needs; --dry-run changes nothing; the lock is
// honoured; a sync with prune_after_sync ends with it; status shows sizes and what prune would free.
// Time is moved by writing placed_at in the state database (the binary has no clock override).
#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "esxmirror/util/file_lock.hpp"
#include "esxmirror/util/strings.hpp"
#include "support/mirror_fixture.hpp"
#include "support/state_sql.hpp"

using namespace esxmirror::testing;
using json = nlohmann::json;
namespace fs = std::filesystem;

namespace {

constexpr std::int64_t kDay = 24 * 3600;

// The standard site plus two newer 3.0.1 bundles: ESX-1002090 supersedes the shared ESX-1001724 (which
// ESX-1002087 already supersedes under 3.0.2), and ESX-1000071 supersedes ESX-1000050.
SampleSite retention_site() {
  SampleSite site = SampleSite::standard();
  SamplePatch p;
  p.id = "ESX-1002090", p.kb = "1002090", p.versions = {"3.0.1"}, p.date_text = "10/9/07";
  p.iso_date = "2007-10-09", p.dialect = 2, p.supersedes = {"ESX-1001724"}, p.bundle_bytes = 30 * 1024;
  site.add_patch(p);
  p = {};
  p.id = "ESX-1000071", p.kb = "1000071", p.versions = {"3.0.1"}, p.date_text = "4/20/07";
  p.iso_date = "2007-04-20", p.supersedes = {"ESX-1000050"}, p.bundle_bytes = 30 * 1024;
  site.add_patch(p);
  return site;
}

fs::path state_db(const MirrorFixture& f) { return f.dest / ".esxmirror" / "state.db"; }

// The bundle was placed `days` ago (and a minute), as far as retention can tell.
void placed_days_ago(const MirrorFixture& f, const std::string& id, std::int64_t days) {
  const std::string when = std::to_string(unix_now() - days * kDay - 60);
  REQUIRE(run_sql(state_db(f), "UPDATE bundles SET placed_at = " + when + " WHERE patch_id = '" + id +
                                   "'; "
                                   "SELECT changes()") == "1");
}

// What a bundle's removal frees: the bytes of the files the site's archive puts in its directory.
std::uint64_t bundle_bytes(const MirrorFixture& f, const std::string& id) {
  std::uint64_t bytes = 0;
  for (const ArchiveEntry& e : f.server.site().placed_contents(id)) {
    if (e.type == ArchiveEntry::Type::file) bytes += e.content.size();
  }
  return bytes;
}

std::set<std::string> manifest_ids(const MirrorFixture& f, const std::string& version) {
  std::set<std::string> ids;
  const json manifest = json::parse(slurp(f.dest / "manifest.json"));
  if (!manifest["versions"].contains(version)) return ids;
  for (const json& b : manifest["versions"][version]) ids.insert(b["id"]);
  return ids;
}

json listed(MirrorFixture& f, const std::string& id) {
  const json list = json::parse(f.command("list", {"--json"}).out);
  for (const json& e : list) {
    if (e["id"] == id) return e;
  }
  FAIL("list does not know " << id);
  return {};
}

bool gone(const fs::path& p) { return fs::symlink_status(p).type() == fs::file_type::not_found; }

// Every served path and the bytes of every served file: what "changes nothing" compares.
std::map<std::string, std::string> served(const MirrorFixture& f) {
  std::map<std::string, std::string> out;
  for (const std::string& rel : f.served_files()) {
    out[rel] = fs::is_regular_file(f.dest / rel) ? slurp(f.dest / rel) : "(not a file)";
  }
  return out;
}

const std::vector<std::string> kBoth = {"--esx-version", "3.0.1", "--esx-version", "3.0.2"};

}  // namespace

TEST_CASE(
    "prune removes exactly the superseded bundles past the grace period, whole, and sync does not fetch "
    "them again",
    "[prune]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  configure(f, "keep_superseded_days = 30\n");
  placed_days_ago(f, "ESX-1002087", 31);
  placed_days_ago(f, "ESX-1002090", 31);
  placed_days_ago(f, "ESX-1000071", 29);  // one day short: ESX-1000050 stays for now
  const std::map<std::string, std::string> before = served(f);
  const std::string state_before = f.command("list", {"--json"}).out;

  ProcessResult dry = f.command("prune", {"--config", f.config.string(), "--dry-run"});
  INFO(dry.all());
  REQUIRE(dry.exit_code == 0);
  CHECK(has(dry.out, "would remove ESX-1001724    3.0.1,3.0.2"));
  CHECK(has(dry.out, "superseded by ESX-1002087 under 3.0.2; ESX-1002090 under 3.0.1"));
  CHECK_FALSE(has(dry.out, "ESX-1000050"));
  const std::string freed = esxmirror::util::human_bytes(bundle_bytes(f, "ESX-1001724"));
  CHECK(has(dry.out, "esxmirror: prune: dry run: 1 bundle(s) would be removed, freeing " + freed + "\n"));
  CHECK(served(f) == before);
  CHECK(f.command("list", {"--json"}).out == state_before);

  ProcessResult pruned = f.command("prune", {"--config", f.config.string()});
  INFO(pruned.all());
  REQUIRE(pruned.exit_code == 0);
  CHECK(has(pruned.out, "removed      ESX-1001724    3.0.1,3.0.2"));
  CHECK(has(pruned.out, "esxmirror: prune: removed 1 bundle(s), freed " + freed + "\n"));
  // The directory, and the link of the other version, are gone; nothing else changed on disk.
  CHECK(gone(f.bundle_dir("3.0.1", "ESX-1001724")));
  CHECK(gone(f.bundle_dir("3.0.2", "ESX-1001724")));
  std::map<std::string, std::string> after = served(f);
  for (const auto& [rel, bytes] : before) {
    if (has(rel, "ESX-1001724") || rel == "index.html" || rel == "manifest.json") continue;
    INFO(rel);
    CHECK(after.count(rel) == 1);
    if (after.count(rel)) CHECK(after.at(rel) == bytes);
  }
  for (const auto& [rel, bytes] : after) {
    CHECK((before.count(rel) == 1 || rel == "index.html" || rel == "manifest.json"));
  }
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000050"));
  // The published index and manifest, and the catalog, follow.
  CHECK(manifest_ids(f, "3.0.1").count("ESX-1001724") == 0);
  CHECK(manifest_ids(f, "3.0.2").count("ESX-1001724") == 0);
  CHECK(manifest_ids(f, "3.0.1").count("ESX-1000050") == 1);
  CHECK_FALSE(has(slurp(f.dest / "index.html"), "ESX-1001724"));
  json row = listed(f, "ESX-1001724");
  CHECK(row["state"] == "pruned");
  CHECK(row["placements"].empty());
  CHECK(row["path"].is_null());
  CHECK(has(row["pruned_reason"].get<std::string>(), "superseded by ESX-1002087"));
  CHECK(run_sql(state_db(f), "SELECT count(*) FROM bundle_files WHERE patch_id = 'ESX-1001724'") == "0");
  CHECK(f.command("verify").exit_code == 0);
  const fs::path trash = f.dest / ".esxmirror" / "staging" / "prune";
  CHECK((gone(trash) || fs::is_empty(trash)));

  // A second prune finds nothing more; the next sync neither fetches the pruned bundle nor lists it.
  ProcessResult again = f.command("prune", {"--config", f.config.string()});
  CHECK(again.exit_code == 0);
  CHECK(has(again.out, "esxmirror: prune: nothing to remove; a superseded bundle goes 30 day(s) after"));
  f.server.reset_hits();
  ProcessResult next = f.sync(kBoth);
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK(f.server.body_count(f.server.site().bundle_path("ESX-1001724")) == 0);
  CHECK(manifest_ids(f, "3.0.2").count("ESX-1001724") == 0);
  CHECK(gone(f.bundle_dir("3.0.1", "ESX-1001724")));

  // A day later ESX-1000071 has been placed 30 days: ESX-1000050 goes too.
  placed_days_ago(f, "ESX-1000071", 30);
  ProcessResult later = f.command("prune", {"--config", f.config.string()});
  INFO(later.all());
  CHECK(later.exit_code == 0);
  CHECK(has(later.out, "removed      ESX-1000050    3.0.1"));
  CHECK(gone(f.bundle_dir("3.0.1", "ESX-1000050")));
  CHECK(manifest_ids(f, "3.0.1") ==
        std::set<std::string>{"ESX-1000039", "ESX-1000070", "ESX-1000071", "ESX-1002082", "ESX-1002090"});
}

TEST_CASE("prune frees the bytes status said it would: the bundle's files as placed", "[prune][status]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  placed_days_ago(f, "ESX-1000071", 5);
  configure(f, "keep_superseded_days = 5\n");
  json status = json::parse(f.command("status", {"--json", "--config", f.config.string()}).out);
  const std::uint64_t bytes = bundle_bytes(f, "ESX-1000050");
  CHECK(status["retention"]["would_free_bytes"] == bytes);
  ProcessResult pruned = f.command("prune", {"--config", f.config.string()});
  INFO(pruned.all());
  REQUIRE(pruned.exit_code == 0);
  CHECK(has(pruned.out, "removed      ESX-1000050    3.0.1                " + esxmirror::util::human_bytes(bytes)));
  json after = json::parse(f.command("status", {"--json", "--config", f.config.string()}).out);
  CHECK(after["on_disk_bytes"].get<std::uint64_t>() == status["on_disk_bytes"].get<std::uint64_t>() - bytes);
  CHECK(after["retention"]["would_remove"].empty());
}

TEST_CASE("prune never removes a bundle a selected version still needs", "[prune]") {
  MirrorFixture f;  // ESX-1002087 (3.0.2 only) supersedes ESX-1001724 (3.0.1 and 3.0.2)
  REQUIRE(f.sync(kBoth).exit_code == 0);
  placed_days_ago(f, "ESX-1002087", 400);
  ProcessResult kept = f.command("prune", {"--keep-superseded-days", "0"});
  INFO(kept.all());
  CHECK(kept.exit_code == 0);
  CHECK(has(kept.out, "esxmirror: prune: nothing to remove"));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1001724"));
  CHECK(fs::is_symlink(f.bundle_dir("3.0.2", "ESX-1001724")));

  // A mirror of 3.0.2 alone: ESX-1001724 is covered where it is placed, but its page lists 3.0.1 too.
  MirrorFixture g;
  REQUIRE(g.sync({"--esx-version", "3.0.2"}).exit_code == 0);
  placed_days_ago(g, "ESX-1002087", 400);
  configure(g, "esx_version = [\"3.0.1\", \"3.0.2\"]\nkeep_superseded_days = 0\n");
  ProcessResult selected = g.command("prune", {"--config", g.config.string()});  // 3.0.1 selected: it stays
  CHECK(selected.exit_code == 0);
  CHECK(has(selected.out, "nothing to remove"));
  CHECK(g.bundle_matches_site("3.0.2", "ESX-1001724"));
  ProcessResult alone = g.command("prune", {"--keep-superseded-days", "0", "--esx-version", "3.0.2"});
  INFO(alone.all());
  CHECK(alone.exit_code == 0);
  CHECK(has(alone.out, "removed      ESX-1001724    3.0.2"));
  CHECK(gone(g.bundle_dir("3.0.2", "ESX-1001724")));
  // Selecting 3.0.1 later fetches it again (no newer bundle was known to cover 3.0.1), for both versions.
  g.server.reset_hits();
  ProcessResult both = g.sync(kBoth);
  INFO(both.all());
  CHECK(both.exit_code == 0);
  CHECK(g.server.body_count(g.server.site().bundle_path("ESX-1001724")) == 1);
  CHECK(g.bundle_matches_site("3.0.1", "ESX-1001724"));
  CHECK(g.bundle_matches_site("3.0.2", "ESX-1001724"));
  CHECK(listed(g, "ESX-1001724")["state"] == "placed");
}

TEST_CASE("prune keeps everything unless keep_superseded_days is set, and says so", "[prune]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  for (const char* id : {"ESX-1002087", "ESX-1002090", "ESX-1000071"}) placed_days_ago(f, id, 3650);
  const std::map<std::string, std::string> before = served(f);
  ProcessResult r = f.command("prune");
  INFO(r.all());
  CHECK(r.exit_code == 0);
  CHECK(r.out ==
        "esxmirror: prune: nothing to remove; superseded bundles are kept for ever "
        "(keep_superseded_days is not set)\n");
  CHECK(served(f) == before);
  ProcessResult status = f.command("status");
  CHECK(has(status.out, "Retention: superseded bundles are kept for ever"));
  CHECK(has(status.out, "superseded but kept for now: 2 bundle(s)"));
}

TEST_CASE("prune takes the mirror's lock: exit 3 while another run holds it, and nothing changes", "[prune][lock]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  placed_days_ago(f, "ESX-1000071", 10);
  const std::map<std::string, std::string> before = served(f);
  {
    std::string holder;
    auto lock = esxmirror::util::FileLock::try_acquire(f.dest / ".esxmirror" / "lock",
                                                       "pid 4242 on testhost since "
                                                       "2026-12-01T02:30:00Z",
                                                       holder);
    REQUIRE(lock);
    ProcessResult locked = f.command("prune", {"--keep-superseded-days", "1"});
    INFO(locked.all());
    CHECK(locked.exit_code == 3);
    CHECK(has(locked.err, "pid 4242 on testhost"));
    CHECK(served(f) == before);
    CHECK(listed(f, "ESX-1000050")["state"] == "placed");
    // A dry run takes no lock: it answers while a run holds it.
    ProcessResult dry = f.command("prune", {"--keep-superseded-days", "1", "--dry-run"});
    CHECK(dry.exit_code == 0);
    CHECK(has(dry.out, "would remove ESX-1000050"));
  }
  ProcessResult free = f.command("prune", {"--keep-superseded-days", "1"});
  CHECK(free.exit_code == 0);
  CHECK(gone(f.bundle_dir("3.0.1", "ESX-1000050")));
}

TEST_CASE("sync with prune_after_sync ends with a prune, in its output and its report", "[prune][nightly]") {
  MirrorFixture f(retention_site());
  configure(f, "keep_superseded_days = 7\nprune_after_sync = true\n");
  ProcessResult first = f.sync(kBoth);
  INFO(first.all());
  REQUIRE(first.exit_code == 0);
  CHECK(has(first.out, "esxmirror: prune: nothing to remove"));  // everything was placed just now
  placed_days_ago(f, "ESX-1000071", 8);

  ProcessResult dry = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "--dry-run"});
  INFO(dry.all());
  CHECK(dry.exit_code == 0);
  CHECK(has(dry.out, "would remove ESX-1000050"));
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1000050"));

  const fs::path report = f.tmp / "report.json";
  ProcessResult second = f.sync({"--esx-version", "3.0.1", "--esx-version", "3.0.2", "--report", report.string()});
  INFO(second.all());
  REQUIRE(second.exit_code == 0);
  CHECK(has(second.out, "removed      ESX-1000050"));
  CHECK(has(second.out, "esxmirror: prune: removed 1 bundle(s), freed"));
  CHECK(gone(f.bundle_dir("3.0.1", "ESX-1000050")));
  CHECK(manifest_ids(f, "3.0.1").count("ESX-1000050") == 0);
  json r = json::parse(slurp(report));
  REQUIRE(r["pruned"]["removed"].size() == 1);
  CHECK(r["pruned"]["removed"][0]["id"] == "ESX-1000050");
  CHECK(r["pruned"]["removed"][0]["bytes"] == bundle_bytes(f, "ESX-1000050"));
  CHECK(r["pruned"]["bytes"] == bundle_bytes(f, "ESX-1000050"));
}

TEST_CASE("status shows the mirror's size per version and what prune would free", "[prune][status]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  configure(f, "keep_superseded_days = 30\n");
  placed_days_ago(f, "ESX-1000071", 31);
  auto sum = [&](const std::vector<std::string>& ids) {
    std::uint64_t n = 0;
    for (const std::string& id : ids) n += bundle_bytes(f, id);
    return n;
  };
  const std::vector<std::string> v301 = {"ESX-1000039", "ESX-1000050", "ESX-1000070", "ESX-1000071",
                                         "ESX-1001724", "ESX-1002082", "ESX-1002090"};
  const std::vector<std::string> v302 = {"ESX-1001724", "ESX-1002082", "ESX-1002087", "ESX-1002424", "ESX-1002425"};

  json status = json::parse(f.command("status", {"--json", "--config", f.config.string()}).out);
  std::map<std::string, json> usage;
  for (const json& u : status["usage"]) usage[u["version"]] = u;
  REQUIRE(usage.size() == 2);
  CHECK(usage["3.0.1"]["source"] == "legacy");
  CHECK(usage["3.0.1"]["items"] == v301.size());
  CHECK(usage["3.0.1"]["bytes"] == sum(v301));
  CHECK(usage["3.0.2"]["items"] == v302.size());
  CHECK(usage["3.0.2"]["bytes"] == sum(v302));
  CHECK(usage["3.0.2"]["linked_bytes"] == sum({"ESX-1001724", "ESX-1002082"}));  // stored once, under 3.0.1
  CHECK(status["on_disk_bytes"] == sum(v301) + sum({"ESX-1002087", "ESX-1002424", "ESX-1002425"}));
  REQUIRE(status["retention"]["would_remove"].size() == 1);
  CHECK(status["retention"]["would_remove"][0]["id"] == "ESX-1000050");
  CHECK(status["retention"]["would_free_bytes"] == bundle_bytes(f, "ESX-1000050"));
  REQUIRE(status["retention"]["waiting"].size() == 1);  // ESX-1001724: its superseders are young
  CHECK(status["retention"]["waiting"][0]["id"] == "ESX-1001724");

  ProcessResult text = f.command("status", {"--config", f.config.string()});
  INFO(text.out);
  CHECK(has(text.out, "Mirror size:"));
  CHECK(has(text.out, "legacy   3.0.1"));
  CHECK(has(text.out, "legacy   3.0.2"));
  CHECK(has(text.out, "prune would free "));
  CHECK(has(text.out, "    ESX-1000050    3.0.1"));
  CHECK(has(text.out, "superseded but kept for now: 1 bundle(s)"));
}

TEST_CASE("prune without a mirror creates nothing, and a bad value is a usage error", "[prune]") {
  MirrorFixture f;
  ProcessResult none = f.command("prune", {"--keep-superseded-days", "3"});
  CHECK(none.exit_code == 5);
  CHECK(has(none.err, "no state database at " + (f.dest / ".esxmirror" / "state.db").string()));
  CHECK_FALSE(fs::exists(f.dest));
  CHECK(f.command("prune", {"--keep-superseded-days", "-1"}).exit_code == 2);
  configure(f, "keep_superseded_days = \"thirty\"\n");
  ProcessResult bad = f.command("prune", {"--config", f.config.string()});
  CHECK(bad.exit_code == 2);
  CHECK(has(bad.err, "'keep_superseded_days' must be an integer from 0 to 36500"));
  CHECK_FALSE(fs::exists(f.dest));
}

TEST_CASE("prune refuses a place outside the mirror that a damaged state database names", "[prune]") {
  MirrorFixture f(retention_site());
  REQUIRE(f.sync(kBoth).exit_code == 0);
  placed_days_ago(f, "ESX-1000071", 10);
  const fs::path outside = f.tmp / "outside";
  fs::create_directories(outside / "keep");
  REQUIRE(run_sql(state_db(f),
                  "UPDATE bundles SET path = '../outside/keep' WHERE patch_id = 'ESX-1000050'; "
                  "SELECT changes()") == "1");
  ProcessResult r = f.command("prune", {"--keep-superseded-days", "1"});
  INFO(r.all());
  CHECK(r.exit_code == 5);
  CHECK(has(r.err, "ESX-1000050: the state database names '../outside/keep'"));
  CHECK(fs::is_directory(outside / "keep"));
}
