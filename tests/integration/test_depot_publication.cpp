// Issue 8 §3 and §5: publication is what hosts see. A reader walking the mirror while a sync runs never
// finds a zip without all its VIBs, a listed zip missing, a partial or temporary file; SIGKILL at random
// moments leaves the published depot consistent, and the next run completes it exactly like a clean sync.
#include <catch2/catch.hpp>

#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "esxmirror/source/depot/index.hpp"
#include "support/depot_fixture.hpp"
#include "support/mirror_fixture.hpp"

using namespace esxmirror::testing;
namespace fs = std::filesystem;
namespace depot_xml = esxmirror::source::depot;

namespace {

using Strings = std::vector<std::string>;

// A reader of the mirror on its own thread, as a host polling the depot during a sync: walks it
// continuously and keeps every problem it finds (Catch's assertions stay on the test's thread).
class MirrorReader {
 public:
  MirrorReader(fs::path mirror, SampleDepot upstream)
      : mirror_(std::move(mirror)), upstream_(std::move(upstream)), thread_([this] { run(); }) {}
  ~MirrorReader() { stop(); }
  MirrorReader(const MirrorReader&) = delete;
  MirrorReader& operator=(const MirrorReader&) = delete;

  void stop() {
    stopping_ = true;
    if (thread_.joinable()) thread_.join();
  }
  const Strings& problems() const { return problems_; }
  int walks() const { return walks_; }
  // How many different numbers of files the reader saw: more than two means it watched the sync happen.
  std::size_t states_seen() const { return file_counts_.size(); }

 private:
  void run() {
    while (!stopping_) {
      for (std::string& problem : consistency_problems(mirror_, upstream_))
        if (problems_.size() < 20) problems_.push_back("walk " + std::to_string(walks_) + ": " + problem);
      file_counts_.insert(read_tree(mirror_).size());
      ++walks_;
    }
  }

  fs::path mirror_;
  SampleDepot upstream_;
  std::atomic<bool> stopping_{false};
  Strings problems_;
  std::set<std::size_t> file_counts_;
  int walks_ = 0;
  std::thread thread_;
};

// Waits for the child to end, at most `limit`; SIGKILLs it past that and says so in `timed_out`.
ProcessResult wait_for(Child& child, std::chrono::seconds limit, bool& timed_out) {
  timed_out = false;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  const fs::path stat = "/proc/" + std::to_string(child.pid()) + "/stat";
  for (;;) {
    const std::string text = slurp(stat);
    const auto close = text.rfind(')');
    if (text.empty() || (close != std::string::npos && close + 2 < text.size() && text[close + 2] == 'Z')) break;
    if (std::chrono::steady_clock::now() > deadline) {
      timed_out = true;
      child.signal(SIGKILL);
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return child.wait();
}

std::uint64_t env_seed() {
  const char* text = std::getenv("ESXMIRROR_CRASH_SEED");
  return text ? std::strtoull(text, nullptr, 10) : 20240625u;
}

// Every VIB of the selection answers after a delay, so a sync takes long enough to be watched or killed.
void slow_vibs(DepotFixture& f, const Strings& versions, std::mt19937_64& random, int max_ms) {
  const SampleDepot depot = f.server.depot();
  for (const std::string& id : depot.vibs_for(versions)) {
    Fault slow;
    slow.delay_ms = static_cast<int>(random() % static_cast<std::uint64_t>(max_ms + 1));
    f.server.set_fault(f.logged(depot.vib_path(id)), slow);
  }
}

}  // namespace

TEST_CASE("depot publication: the consistency check sees what a host must never see", "[depot][depot-publication]") {
  // The reader and the kill campaign trust consistency_problems(); here it is shown a complete mirror,
  // then each kind of damage.
  TempDir tmp;
  const SampleDepot depot = SampleDepot::standard(small_vibs());
  const fs::path mirror = tmp / "main";
  for (const auto& [path, bytes] : expected_mirror(depot, {"8.0"})) {
    fs::create_directories((mirror / path).parent_path());
    std::ofstream(mirror / path, std::ios::binary) << bytes;
  }
  const std::string vendor_index = depot.vendor_index_path();
  std::ofstream(mirror / vendor_index, std::ios::binary)
      << depot_xml::rewrite_vendor_index(depot.file(vendor_index), vendor_index, expected_entries(depot, {"8.0"}));
  REQUIRE(consistency_problems(mirror, depot).empty());
  REQUIRE(mirror_differences(mirror, depot, {"8.0"}).empty());
  REQUIRE(mirror_differences(mirror, depot, {"8.0.3"}).size() > 3);  // more files, more entries than that

  const std::string vib = depot.vib_path(depot.release("8.0.2").vib_ids.front());
  SECTION("a VIB of a published zip missing") {
    fs::remove(mirror / vib);
    CHECK(consistency_problems(mirror, depot).size() >= 1);
  }
  SECTION("a VIB cut short under its final name") {
    fs::resize_file(mirror / vib, 100);
    CHECK(consistency_problems(mirror, depot).size() >= 2);  // not upstream's bytes, and the wrong sha-256
  }
  SECTION("a partial file beside the final names") {
    std::ofstream(mirror / (vib + ".part")) << "x";
    CHECK(consistency_problems(mirror, depot).size() == 1);
  }
  SECTION("a listed zip missing") {
    fs::remove(mirror / depot.zip_path("8.0.1"));
    CHECK(consistency_problems(mirror, depot).size() == 1);
  }
  SECTION("the depot index without its vendor index") {
    fs::remove(mirror / vendor_index);
    CHECK(consistency_problems(mirror, depot).size() == 1);
  }
}

TEST_CASE(
    "depot publication: a reader walking the mirror during a first sync and during an update never finds a "
    "zip without its VIBs, a listed zip missing, or a partial file",
    "[depot][depot-publication]") {
  DepotFixture f;
  f.configure("jobs = 2\n");
  std::mt19937_64 random(env_seed());
  slow_vibs(f, {"8.0"}, random, 120);

  {
    MirrorReader reader(f.mirror(), f.server.depot());
    ProcessResult r = f.sync({"--esx-version", "8.0"});
    reader.stop();
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(reader.problems().empty());
    CHECK(reader.walks() > 20);
    CHECK(reader.states_seen() > 3);  // it watched VIBs arrive and the metadata appear
  }
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0"}).empty());

  f.server.edit_depot("main", [](SampleDepot& depot) { depot.add_update_release("8.0", "8.0.4"); });
  slow_vibs(f, {"8.0.4"}, random, 300);
  {
    MirrorReader reader(f.mirror(), f.server.depot());
    ProcessResult r = f.sync({"--esx-version", "8.0"});
    reader.stop();
    INFO(r.all());
    REQUIRE(r.exit_code == 0);
    CHECK(reader.problems().empty());
    CHECK(reader.walks() > 10);
    CHECK(reader.states_seen() > 1);
  }
  CHECK(mirror_differences(f.mirror(), f.server.depot(), {"8.0"}).empty());
}

TEST_CASE("depot publication: after a run killed mid-way the next one fetches only what was not placed yet",
          "[depot][depot-publication][crash]") {
  // DESIGN §1: each item is recorded as it completes, so a crash loses only what was in flight.
  DepotFixture f;
  f.configure("jobs = 2\n");
  std::mt19937_64 random(env_seed());
  slow_vibs(f, {"8.0"}, random, 150);
  const SampleDepot depot = f.server.depot();
  const std::size_t total = depot.vibs_for({"8.0"}).size();
  const auto placed_vibs = [&] {
    std::set<std::string> paths;
    for (const auto& [path, bytes] : read_tree(f.mirror()))
      if (path.size() > 4 && path.compare(path.size() - 4, 4, ".vib") == 0) paths.insert(f.logged(path));
    return paths;
  };
  Child child(binary_path(), f.sync_args({"--esx-version", "8.0"}, f.dest), f.tmp.path());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (placed_vibs().size() < 6 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  child.signal(SIGKILL);
  REQUIRE(child.wait().signal == SIGKILL);
  const std::set<std::string> placed = placed_vibs();
  REQUIRE(placed.size() >= 6);
  REQUIRE(placed.size() < total);
  CHECK(consistency_problems(f.mirror(), depot).empty());

  f.server.clear_faults();
  f.server.reset_hits();
  ProcessResult r = f.sync({"--esx-version", "8.0"});
  INFO(r.all());
  REQUIRE(r.exit_code == 0);
  std::set<std::string> fetched_again;
  for (const Hit& hit : f.server.hits())
    if (is_vib_request(hit) && placed.count(hit.path)) fetched_again.insert(hit.path);
  INFO(placed.size() << " of " << total << " VIBs were placed before the kill");
  CHECK(fetched_again.empty());
  CHECK(mirror_differences(f.mirror(), depot, {"8.0"}).empty());
}

TEST_CASE(
    "depot publication: SIGKILL at 30 random moments never leaves the published depot inconsistent, and the "
    "next run completes it exactly like a clean sync",
    "[depot][depot-publication][crash]") {
  DepotFixture f;
  f.configure("jobs = 3\n");
  f.server.set_latency_ms(3);
  const std::uint64_t seed = env_seed();
  std::cerr << "depot crash safety: seed " << seed << " (set ESXMIRROR_CRASH_SEED to replay another)\n";
  std::mt19937_64 random(seed);
  const Strings versions = {"7.0", "8.0"};
  const auto arm = [&] {
    f.server.clear_faults();
    slow_vibs(f, versions, random, 60);
    const SampleDepot depot = f.server.depot();
    for (const SampleRelease* release : selected_releases(depot, versions)) {
      Fault slow;
      slow.delay_ms = static_cast<int>(random() % 40);
      f.server.set_fault(f.logged(depot.zip_path(release->version)), slow);
    }
  };
  arm();
  // How long an undisturbed first run takes here: kills are drawn over 1.2 times that, so they land in
  // every phase (documents, VIBs, publication) and some runs finish, whatever this machine's speed.
  const auto timing_start = std::chrono::steady_clock::now();
  REQUIRE(run_process(binary_path(),
                      f.sync_args({"--esx-version", versions[0], "--esx-version", versions[1]}, f.tmp / "timing"))
              .exit_code == 0);
  const auto full_run =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - timing_start);
  const std::uint64_t max_delay_ms = static_cast<std::uint64_t>(full_run.count()) * 6 / 5 + 1;
  std::cerr << "depot crash safety: a clean run takes " << full_run.count() << " ms\n";

  const fs::path logs = f.tmp / "logs";
  fs::create_directories(logs);
  const int kills_wanted = 30, attempts_allowed = 80;
  int landed = 0, finished_first = 0, before_vibs = 0, during_vibs = 0, after_publishing = 0, fresh_starts = 0;
  int releases_added = 0;
  bool idle = false;
  for (int attempt = 0; landed < kills_wanted && attempt < attempts_allowed; ++attempt) {
    // New work now and then: an update release upstream (its zip and VIBs), or a fresh mirror (kills
    // then land in a first run, when nothing is published yet).
    if (idle || attempt % 6 == 5) {
      if (attempt % 12 == 11) {
        fs::remove_all(f.dest);
        ++fresh_starts;
      } else {
        const std::string line = releases_added % 2 == 0 ? "8.0" : "7.0";
        const std::string version = line + "." + std::to_string(4 + releases_added / 2);
        f.server.edit_depot("main", [&](SampleDepot& depot) { depot.add_update_release(line, version); });
        ++releases_added;
        arm();
      }
    }
    const auto delay = std::chrono::milliseconds(random() % max_delay_ms);
    const std::size_t hits_before = f.server.hits().size();
    Child child(binary_path(), f.sync_args({"--esx-version", versions[0], "--esx-version", versions[1]}, f.dest), logs);
    std::this_thread::sleep_for(delay);
    child.signal(SIGKILL);
    bool timed_out = false;
    ProcessResult r = wait_for(child, std::chrono::seconds(20), timed_out);
    REQUIRE_FALSE(timed_out);
    idle = r.signal != SIGKILL;
    if (idle) {
      ++finished_first;
      INFO(r.all());
      CHECK(r.exit_code == 0);
    } else {
      ++landed;
      const std::vector<Hit> hits = f.server.hits();
      bool asked_vib = false;
      for (std::size_t i = hits_before; i < hits.size(); ++i) asked_vib = asked_vib || is_vib_request(hits[i]);
      if (!asked_vib)
        ++before_vibs;
      else if (fs::exists(f.mirror() / f.server.depot().vendor_index_path()))
        ++after_publishing;
      else
        ++during_vibs;
    }
    const Strings problems = consistency_problems(f.mirror(), f.server.depot());
    INFO("after attempt " << attempt + 1 << ", killed at " << delay.count() << " ms (seed " << seed << ")");
    CHECK(problems.empty());
  }
  // Kills with a vendor index already published land only in the short runs after an update release, a
  // few in 30, and under load the random ones can miss them all: one more is aimed there, at the moment
  // the run asks for a VIB of a new release (slowed down so the kill lands before it is placed).
  {
    f.server.clear_faults();
    REQUIRE(f.sync({"--esx-version", versions[0], "--esx-version", versions[1]}).exit_code == 0);
    f.server.edit_depot("main", [&](SampleDepot& depot) { depot.add_update_release("8.0", "8.0.99"); });
    const SampleDepot depot = f.server.depot();
    Fault slow;
    slow.delay_ms = 2000;
    for (const std::string& id : depot.vibs_for(versions)) f.server.set_fault(f.logged(depot.vib_path(id)), slow);
    const std::size_t hits_before = f.server.hits().size();
    Child child(binary_path(), f.sync_args({"--esx-version", versions[0], "--esx-version", versions[1]}, f.dest), logs);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    bool asked_vib = false;
    while (!asked_vib && std::chrono::steady_clock::now() < deadline) {
      const std::vector<Hit> hits = f.server.hits();
      for (std::size_t i = hits_before; i < hits.size(); ++i) asked_vib = asked_vib || is_vib_request(hits[i]);
      if (!asked_vib) std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    REQUIRE(asked_vib);
    child.signal(SIGKILL);
    bool timed_out = false;
    ProcessResult r = wait_for(child, std::chrono::seconds(20), timed_out);
    REQUIRE_FALSE(timed_out);
    REQUIRE(r.signal == SIGKILL);
    ++landed;
    if (fs::exists(f.mirror() / depot.vendor_index_path())) ++after_publishing;
    INFO("after the kill aimed at a run updating a published mirror");
    CHECK(consistency_problems(f.mirror(), f.server.depot()).empty());
  }
  std::cerr << "depot crash safety: " << landed << " kills landed mid-run (" << before_vibs
            << " before any VIB was asked, " << during_vibs << " while VIBs came with nothing published yet, "
            << after_publishing << " with a published vendor index), " << finished_first
            << " runs finished before their kill; " << releases_added << " releases added upstream, " << fresh_starts
            << " fresh mirrors\n";
  CHECK(landed >= kills_wanted);
  CHECK(after_publishing > 0);  // some kills hit a mirror already published: the old version must stay

  // An undisturbed run completes the mirror...
  f.server.clear_faults();
  f.server.set_latency_ms(0);
  ProcessResult last = f.sync({"--esx-version", versions[0], "--esx-version", versions[1]});
  INFO(last.all());
  REQUIRE(last.exit_code == 0);
  const SampleDepot depot = f.server.depot();
  CHECK(mirror_differences(f.mirror(), depot, versions).empty());
  CHECK(consistency_problems(f.mirror(), depot).empty());

  // ...exactly like a clean sync of the same depot, the rewritten vendor index included.
  const fs::path clean = f.tmp / "clean";
  ProcessResult fresh =
      run_process(binary_path(), f.sync_args({"--esx-version", versions[0], "--esx-version", versions[1]}, clean));
  INFO(fresh.all());
  REQUIRE(fresh.exit_code == 0);
  CHECK(tree_differences(read_tree(f.mirror()), read_tree(clean / "main")).empty());
}
