// Issue 4.2: crash safety. A sync SIGKILLed at many random moments never leaves anything partial under a
// final name nor anything half-written outside .esxmirror/, and the next run completes the mirror exactly
// as a clean sync would. SIGTERM and SIGINT stop a run cleanly: exit 130, recorded as interrupted,
// partial downloads kept and resumed by the next run.
#include <catch2/catch.hpp>

#include <signal.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;

namespace {

using FileMap = std::map<std::string, std::string>;  // relative path -> bytes

// Every regular file under `dir`, by relative path; anything else but directories is reported in `odd`.
FileMap files_under(const fs::path& dir, std::vector<std::string>& odd) {
  FileMap files;
  for (const auto& entry : fs::recursive_directory_iterator(dir)) {
    std::string rel = entry.path().lexically_relative(dir).generic_string();
    if (entry.is_symlink()) {
      odd.push_back(rel + " (symlink)");
    } else if (entry.is_regular_file()) {
      files[rel] = slurp(entry.path());
    } else if (!entry.is_directory()) {
      odd.push_back(rel + " (special file)");
    }
  }
  return files;
}

FileMap expected_files(const SampleSite& site, const std::string& id) {
  FileMap files;
  for (const ArchiveEntry& e : site.placed_contents(id)) {
    if (e.type == ArchiveEntry::Type::file) files[e.path] = e.content;
  }
  return files;
}

// Waits for the child to end, at most `limit`; SIGKILLs it past that (and says so).
ProcessResult wait_for(Child& child, std::chrono::seconds limit, bool& timed_out) {
  timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const fs::path stat = "/proc/" + std::to_string(child.pid()) + "/stat";
  for (;;) {
    std::string text = slurp(stat);
    auto close = text.rfind(')');
    bool ended = text.empty() || (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z');
    if (ended) break;
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      child.signal(SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return child.wait();
}

const std::vector<std::string> kVersions = {"3.0.1", "3.0.2"};

std::vector<std::string> sync_args(const MirrorFixture& f, const fs::path& dest) {
  return {"sync",        "--source",      f.server.index_url(), "--dest",
          dest.string(), "--config",      f.config.string(),    "--esx-version",
          kVersions[0],  "--esx-version", kVersions[1],         "-v"};
}

// What a reader of the mirror may see at any moment: only complete bundles under final names (each
// exactly one of the versions the site has served for it; under the second version a bundle shared with
// the first is a link to the first's copy), the published index files whole, and no temporary or partial
// names anywhere outside .esxmirror/.
struct MirrorInvariant {
  const MirrorFixture& f;
  std::map<std::string, std::string> dir_to_id;            // "<date>_<id>" -> id
  std::map<std::string, std::vector<FileMap>> acceptable;  // id -> every content it may have

  void check(const std::string& context) const {
    INFO(context);
    if (!fs::exists(f.dest)) return;
    for (const auto& entry : fs::directory_iterator(f.dest)) {
      const std::string name = entry.path().filename().string();
      INFO("top-level entry " << name);
      CHECK((name == ".esxmirror" || name == kVersions[0] || name == kVersions[1] || name == "index.html" ||
             name == "manifest.json"));
    }
    if (fs::exists(f.dest / "manifest.json")) {
      std::string text = slurp(f.dest / "manifest.json");
      CHECK(nlohmann::json::accept(text));
    }
    if (fs::exists(f.dest / "index.html")) CHECK(has(slurp(f.dest / "index.html"), "</body></html>\n"));
    for (const std::string& version : kVersions) {
      if (!fs::exists(f.dest / version)) continue;
      for (const auto& entry : fs::directory_iterator(f.dest / version)) {
        const std::string name = entry.path().filename().string();
        INFO("bundle entry " << version << "/" << name);
        auto known = dir_to_id.find(name);
        REQUIRE(known != dir_to_id.end());  // no temporary, hidden or unexpected name
        if (fs::is_symlink(entry.path())) {
          CHECK(version == kVersions[1]);
          CHECK(fs::read_symlink(entry.path()) == fs::path("..") / kVersions[0] / name);
          REQUIRE(fs::is_directory(entry.path()));  // never dangling
        } else {
          REQUIRE(fs::is_directory(fs::symlink_status(entry.path())));
        }
        std::vector<std::string> odd;
        FileMap files = files_under(entry.path(), odd);
        CHECK(odd.empty());
        const auto& choices = acceptable.at(known->second);
        bool complete = std::find(choices.begin(), choices.end(), files) != choices.end();
        INFO("holds " << files.size() << " files; a complete copy holds " << choices.back().size());
        CHECK(complete);
      }
    }
  }
};

std::uint64_t env_seed() {
  const char* text = std::getenv("ESXMIRROR_CRASH_SEED");
  return text ? std::strtoull(text, nullptr, 10) : 20070329u;
}

}  // namespace

TEST_CASE(
    "crash safety: SIGKILL at 50+ random moments never exposes a partial bundle, and the next run completes "
    "the mirror exactly like a clean sync",
    "[crash]") {
  // Twelve bundles of ~300 KiB: some for 3.0.1 only, some for 3.0.2 only, some shared (a copy under 3.0.1,
  // a link under 3.0.2), so kills also land while links are placed.
  SampleSite generated = SampleSite::generated(12, 300 * 1024, kVersions[0]);
  std::map<std::string, std::vector<std::string>> versions_of;
  for (std::size_t i = 0; i < generated.patches().size(); ++i) {
    SamplePatch p = generated.patches()[i];
    if (i % 3 == 0) p.versions = kVersions;
    if (i % 3 == 1 && i % 2 == 1) p.versions = {kVersions[1]};
    versions_of[p.id] = p.versions;
    generated.add_patch(p);
  }
  MirrorFixture f(generated);
  std::ofstream(f.config, std::ios::app) << "jobs = 3\nlimit_rate = \"2M\"\n";
  f.server.set_latency_ms(5);
  const std::uint64_t seed = env_seed();
  std::cerr << "crash safety: seed " << seed << " (set ESXMIRROR_CRASH_SEED to replay another)\n";
  std::mt19937_64 random(seed);

  SampleSite site = f.server.site();
  std::vector<std::string> ids;
  MirrorInvariant invariant{f, {}, {}};
  for (const SamplePatch& p : site.patches()) {
    ids.push_back(p.id);
    invariant.dir_to_id[p.iso_date + "_" + p.id] = p.id;
    invariant.acceptable[p.id].push_back(expected_files(site, p.id));
    // Page and bundle answers of different speed, so the phases of parallel patches interleave.
    Fault slow;
    slow.delay_ms = static_cast<int>(random() % 120);
    f.server.set_fault(site.bundle_path(p.id), slow);
    slow.delay_ms = static_cast<int>(random() % 30);
    f.server.set_fault(site.page_path(p.id), slow);
  }

  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  const int kills_wanted = 56, attempts_allowed = 120;  // a kill after the run ended does not count
  int landed = 0, finished_first = 0, during_discovery = 0, during_transfer = 0, after_placing = 0, during_unpack = 0;
  unsigned replaced_on_site = 0;
  bool idle = false;  // the last run had finished before its kill: give the next one work
  for (int kill = 0; landed < kills_wanted && kill < attempts_allowed; ++kill) {
    // Every few kills there is new work: bundles removed by hand are fetched again, and a bundle changed
    // on the site is fetched and swapped in (RENAME_EXCHANGE) while kills keep landing.
    if (kill % 4 == 3 || idle) {
      for (int n = 0; n < 3; ++n) {
        const std::string& id = ids[random() % ids.size()];
        for (const std::string& v : versions_of[id]) fs::remove_all(f.bundle_dir(v, id));  // the copy and its link
      }
    }
    if (kill % 8 == 7) {
      const std::string& id = ids[random() % ids.size()];
      std::vector<ArchiveEntry> entries = bundle_entries(id, 280 * 1024, 9000 + ++replaced_on_site);
      f.replace_bundle(id, build_archive(entries, ArchiveFormat::tar_gz, 0));
      FileMap now_served;
      for (const ArchiveEntry& e : entries) {
        if (e.type == ArchiveEntry::Type::file) now_served[placed_path(id, e.path)] = e.content;
      }
      invariant.acceptable[id].push_back(std::move(now_served));
    }

    const auto delay = std::chrono::milliseconds(random() % 301);
    const std::size_t hits_before = f.server.hits().size();
    Child child(binary_path(), sync_args(f, f.dest), logs);
    std::this_thread::sleep_for(delay);
    child.signal(SIGKILL);
    bool timed_out = false;
    ProcessResult r = wait_for(child, std::chrono::seconds(20), timed_out);
    REQUIRE_FALSE(timed_out);
    idle = r.signal != SIGKILL;
    if (r.signal == SIGKILL) {
      ++landed;
      // Where the run was: still reading pages (no bundle asked yet), transferring, or placing.
      std::vector<Hit> hits = f.server.hits();
      bool asked_bundle = false;
      for (std::size_t i = hits_before; i < hits.size(); ++i) asked_bundle = asked_bundle || has(hits[i].path, ".tgz");
      if (has(r.err, ": placed ")) {
        ++after_placing;
      } else if (asked_bundle) {
        ++during_transfer;
      } else {
        ++during_discovery;
      }
    } else {
      ++finished_first;
      INFO(r.all());
      CHECK((r.exit_code == 0 || r.exit_code == 1));
    }
    if (fs::exists(f.dest / ".esxmirror" / "staging")) {
      for (const auto& entry : fs::directory_iterator(f.dest / ".esxmirror" / "staging")) {
        if (entry.is_directory() && has(entry.path().filename().string(), ".unpack")) {
          ++during_unpack;
          break;
        }
      }
    }
    invariant.check("after kill " + std::to_string(kill + 1) + " at " + std::to_string(delay.count()) + " ms (seed " +
                    std::to_string(seed) + ")");
  }
  std::cerr << "crash safety: " << landed << " kills landed mid-run (" << during_discovery << " while reading pages, "
            << during_transfer << " while transferring before any placement, " << after_placing
            << " after placing some; " << during_unpack << " with an unpack in progress), " << finished_first
            << " runs finished before their kill; " << replaced_on_site << " bundles changed on the site meanwhile\n";
  CHECK(landed >= kills_wanted);

  // A last run, undisturbed, completes the mirror...
  f.server.clear_faults();
  f.server.set_latency_ms(0);
  ProcessResult last = run_process(binary_path(), sync_args(f, f.dest));
  INFO(last.all());
  REQUIRE(last.exit_code == 0);
  invariant.check("after the last run");
  for (const std::string& id : ids) {
    for (const std::string& v : versions_of[id]) {
      INFO(v << " " << id);
      std::vector<std::string> odd;
      CHECK(files_under(f.bundle_dir(v, id), odd) == invariant.acceptable.at(id).back());  // what is served now
    }
  }
  // ...and leaves nothing behind in staging (no unpack debris, no forgotten partial download).
  for (const auto& entry : fs::directory_iterator(f.dest / ".esxmirror" / "staging")) {
    FAIL_CHECK("left in staging: " << entry.path().filename().string());
  }

  // ...exactly like a clean sync of the same site.
  const fs::path clean = f.tmp / "clean";
  ProcessResult fresh = run_process(binary_path(), sync_args(f, clean));
  INFO(fresh.all());
  REQUIRE(fresh.exit_code == 0);
  std::set<std::string> clean_files;
  for (const auto& entry : fs::recursive_directory_iterator(clean)) {
    std::string rel = entry.path().lexically_relative(clean).generic_string();
    if (rel.rfind(".esxmirror", 0) != 0) clean_files.insert(rel);
  }
  CHECK(f.served_files() == clean_files);
  for (const std::string& rel : clean_files) {
    if (!fs::is_regular_file(clean / rel) || rel == "index.html" || rel == "manifest.json") continue;
    INFO(rel);
    CHECK(slurp(f.dest / rel) == slurp(clean / rel));
  }
  CHECK(nlohmann::json::parse(slurp(f.dest / "manifest.json"))["versions"] ==
        nlohmann::json::parse(slurp(clean / "manifest.json"))["versions"]);
  CHECK(slurp(f.dest / "index.html") == slurp(clean / "index.html"));  // no clock in it: byte for byte
  CHECK(slurp(f.dest / "manifest.json") == slurp(clean / "manifest.json"));
}

TEST_CASE(
    "crash safety: SIGTERM or SIGINT mid-download stops the run at once with exit 130, recorded as "
    "interrupted, the next run resumes the partial downloads and completes",
    "[crash][signals]") {
  const std::string version = "3.0.1";
  MirrorFixture f(SampleSite::generated(4, 300 * 1024, version));
  SampleSite site = f.server.site();
  for (const SamplePatch& p : site.patches()) {
    Fault drip;
    drip.drip_bytes_per_s = 100 * 1024;  // each bundle takes ~3 s: the signal lands mid-transfer
    f.server.set_fault(site.bundle_path(p.id), drip);
  }
  int sig = SIGTERM;
  SECTION("SIGTERM") { sig = SIGTERM; }
  SECTION("SIGINT") { sig = SIGINT; }

  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  const fs::path staging = f.dest / ".esxmirror" / "staging";
  Child child(binary_path(), sync_args(f, f.dest), logs);
  // Wait until every bundle has bytes on disk.
  auto partials = [&] {
    std::size_t n = 0;
    std::error_code ec;
    for (const auto& entry : fs::directory_iterator(staging, ec)) {
      if (has(entry.path().filename().string(), ".part") && !has(entry.path().filename().string(), ".meta") &&
          entry.file_size() > 0)
        ++n;
    }
    return n;
  };
  // Wait until every bundle is well under way (its bytes may still sit in the writer's buffer).
  auto under_way = [&] {
    std::size_t n = 0;
    for (const Hit& hit : f.server.hits()) {
      if (has(hit.path, ".tgz") && hit.body_bytes >= 20000) ++n;
    }
    return n;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (under_way() < 4 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  REQUIRE(under_way() == 4);

  const auto signalled = std::chrono::steady_clock::now();
  child.signal(sig);
  bool timed_out = false;
  ProcessResult r = wait_for(child, std::chrono::seconds(20), timed_out);
  const auto took = std::chrono::steady_clock::now() - signalled;
  INFO(r.all());
  REQUIRE_FALSE(timed_out);
  CHECK(r.exit_code == 130);
  CHECK(has(r.err, "interrupted"));
  CHECK(took < std::chrono::milliseconds(1500));  // in-flight transfers are abandoned, not finished
  CHECK_FALSE(fs::exists(f.dest / version));      // nothing was complete: nothing placed
  CHECK(partials() == 4);                         // the bytes already fetched are kept to resume from

  ProcessResult status = f.command("status");
  INFO(status.out);
  CHECK(status.exit_code == 0);
  CHECK(has(status.out, "interrupted"));
  ProcessResult status_json = f.command("status", {"--json"});
  auto runs = nlohmann::json::parse(status_json.out)["runs"];
  REQUIRE(runs.size() == 1);
  CHECK(runs[0]["outcome"] == "interrupted");
  CHECK(runs[0]["exit_code"] == 130);

  // The next run continues each partial where it stopped (206 to a Range request) and completes.
  f.server.clear_faults();
  f.server.reset_hits();
  ProcessResult next = f.sync({"--esx-version", version});
  INFO(next.all());
  REQUIRE(next.exit_code == 0);
  for (const SamplePatch& p : site.patches()) {
    INFO(p.id);
    CHECK(f.bundle_matches_site(version, p.id));
    bool resumed = false;
    for (const Hit& hit : f.server.hits()) {
      if (hit.path == site.bundle_path(p.id) && hit.status == 206 && !hit.range.empty()) resumed = true;
    }
    CHECK(resumed);
    CHECK(f.server.count(site.bundle_path(p.id)) == 1);
  }
}

TEST_CASE("crash safety: SIGTERM while the pages are being read stops the run with exit 130 and changes nothing",
          "[crash][signals]") {
  MirrorFixture f;
  REQUIRE(f.sync({"--esx-version", "3.0.1"}).exit_code == 0);
  const std::set<std::string> before = f.served_files();
  const std::string manifest = slurp(f.dest / "manifest.json");
  // A new patch is waiting, but the index answers slowly: the signal lands while it is being read.
  SamplePatch added;
  added.id = "ESX-1004000", added.kb = "1004000", added.versions = {"3.0.1"};
  added.date_text = "1/15/08", added.iso_date = "2008-01-15";
  f.server.edit([&](SampleSite& site) { site.add_patch(added); });
  Fault slow;
  slow.delay_ms = 3000;
  f.server.set_fault(SampleSite::index_path(), slow);

  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  Child child(binary_path(), sync_args(f, f.dest), logs);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  const auto signalled = std::chrono::steady_clock::now();
  child.signal(SIGTERM);
  bool timed_out = false;
  ProcessResult r = wait_for(child, std::chrono::seconds(20), timed_out);
  INFO(r.all());
  REQUIRE_FALSE(timed_out);
  CHECK(r.exit_code == 130);
  CHECK(std::chrono::steady_clock::now() - signalled < std::chrono::milliseconds(1500));
  CHECK(has(r.err, "interrupted"));
  CHECK(f.served_files() == before);
  CHECK(slurp(f.dest / "manifest.json") == manifest);
  auto runs = nlohmann::json::parse(f.command("status", {"--json"}).out)["runs"];
  REQUIRE(runs.size() == 2);
  CHECK(runs[0]["outcome"] == "interrupted");  // newest first

  f.server.clear_faults();
  ProcessResult next = f.sync({"--esx-version", "3.0.1"});
  INFO(next.all());
  CHECK(next.exit_code == 0);
  CHECK(f.bundle_matches_site("3.0.1", "ESX-1004000"));
}

TEST_CASE(
    "crash safety: SIGKILL while a slow page is still being read, after the bundles of the pages before it were "
    "placed, loses nothing: the next run fetches only the bundle it had not placed",
    "[crash][pipeline]") {
  MirrorFixture f(SampleSite::generated(6, 64 * 1024, kVersions[0]));
  const SampleSite site = f.server.site();
  const std::vector<SamplePatch>& patches = site.patches();
  // The index links the newest patch first ("Latest:"), then every patch in order: the next-to-last
  // patch's page is its last new link, so every other patch is known (and fetched) before it.
  const std::string slow = patches[patches.size() - 2].id;
  Fault stalled;
  stalled.delay_ms = 6000;
  f.server.set_fault(site.page_path(slow), stalled);

  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  Child child(binary_path(),
              {"sync", "--source", f.server.index_url(), "--dest", f.dest.string(), "--config", f.config.string(),
               "--esx-version", kVersions[0]},
              logs);
  auto others_placed = [&] {
    for (const SamplePatch& p : patches) {
      if (p.id != slow && !fs::is_directory(f.bundle_dir(kVersions[0], p.id))) return false;
    }
    return true;
  };
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!others_placed() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  child.signal(SIGKILL);
  ProcessResult killed = child.wait();
  INFO(killed.all());
  REQUIRE(killed.signal == SIGKILL);  // still waiting for the slow page
  REQUIRE(others_placed());
  CHECK_FALSE(fs::exists(f.bundle_dir(kVersions[0], slow)));

  // The pages that led to the placed bundles were never recorded: they are read again, their bundles not.
  f.server.clear_faults();
  f.server.reset_hits();
  ProcessResult r = f.sync({"--esx-version", kVersions[0]});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  for (const SamplePatch& p : patches) {
    INFO(p.id);
    CHECK(f.server.body_count(site.bundle_path(p.id)) == (p.id == slow ? 1u : 0u));
    CHECK(f.bundle_matches_site(kVersions[0], p.id));
  }
}
