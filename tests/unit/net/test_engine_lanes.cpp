// Lanes of one TransferEngine against the loopback SiteServer: their own limits, running together in one
// connection pool, requests added from on_done and from other threads (with a Hold).
#include <atomic>
#include <catch2/catch.hpp>

#include <chrono>
#include <filesystem>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include "esxmirror/net/transfer.hpp"
#include "support/process.hpp"
#include "support/sample_site.hpp"
#include "support/site_server.hpp"

using namespace esxmirror;
using namespace esxmirror::net;
using esxmirror::testing::Fault;
using esxmirror::testing::SampleSite;
using esxmirror::testing::SiteServer;
using esxmirror::testing::TempDir;
using std::chrono::milliseconds;
namespace fs = std::filesystem;

namespace {

NetworkSettings test_settings() {
  NetworkSettings s;
  s.user_agent = "esxmirror-test/1";
  s.connect_timeout_s = 5;
  return s;
}

RetryPolicy fast_retry() {
  RetryPolicy r;
  r.base_delay = milliseconds(10);
  r.max_delay = milliseconds(50);
  return r;
}

struct Site {
  SiteServer server{SampleSite::standard()};
  Site() { server.start(); }
  void put(const std::string& path, std::string content, int delay_ms = 0) {
    server.edit([&](SampleSite& s) { s.set_file(path, std::move(content)); });
    if (delay_ms > 0) {
      Fault slow;
      slow.delay_ms = delay_ms;
      server.set_fault(path, slow);
    }
  }
};

Request get(std::uint64_t tag, std::string url, LaneId lane, fs::path file = {}) {
  Request r{tag, std::move(url), {}, std::move(file)};
  r.lane = lane;
  return r;
}

}  // namespace

TEST_CASE("each lane keeps its own limit, and the lanes run together", "[engine][lanes]") {
  Site site;
  for (const char* name : {"p1", "p2", "q1", "q2"}) site.put(std::string(name) + ".txt", name, 300);
  TransferEngine engine(test_settings(), fast_retry(), 2);  // lane 0: two at once
  const LaneId narrow = engine.add_lane("narrow", 1);
  CHECK(narrow == 1);
  engine.add(get(1, site.server.url("p1.txt"), narrow));
  engine.add(get(2, site.server.url("p2.txt"), narrow));
  engine.add(get(3, site.server.url("q1.txt"), kDefaultLane));
  engine.add(get(4, site.server.url("q2.txt"), kDefaultLane));
  std::map<std::uint64_t, std::map<std::string, std::size_t>> seen;  // requests the server had when each ended
  engine.run([&](Response&& r) {
    REQUIRE(r.outcome == Outcome::ok);
    for (const char* name : {"p2", "q1", "q2"}) seen[r.tag][name] = site.server.count(std::string(name) + ".txt");
  });
  REQUIRE(seen.size() == 4);
  CHECK(seen[1]["p2"] == 0);  // the narrow lane: p2 waited for p1
  CHECK(seen[1]["q1"] == 1);  // ...while lane 0 ran beside it
  CHECK(seen[3]["q2"] == 1);  // lane 0 had both in flight at once
}

TEST_CASE("a full file lane does not hold up pages, and on_done adds to any lane", "[engine][lanes]") {
  Site site;
  TempDir dir;
  site.put("bin/slow.bin", std::string(60 * 1024, 's'));
  Fault drip;
  drip.drip_bytes_per_s = 60 * 1024;  // about a second
  site.server.set_fault("bin/slow.bin", drip);
  for (int i = 0; i < 8; ++i) site.put("page" + std::to_string(i) + ".html", "page " + std::to_string(i));

  TransferEngine engine(test_settings(), fast_retry(), 4);
  const LaneId files = engine.add_lane("files", 1);
  engine.add(get(100, site.server.url("bin/slow.bin"), files, dir / "slow.bin"));
  for (int i = 0; i < 4; ++i) {
    engine.add(get(static_cast<std::uint64_t>(i), site.server.url("page" + std::to_string(i) + ".html"), kDefaultLane));
  }
  std::vector<std::uint64_t> order;
  engine.run([&](Response&& r) {
    INFO(r.tag << ": " << r.error);
    REQUIRE(r.outcome == Outcome::ok);
    order.push_back(r.tag);
    if (r.tag < 4) {  // each page leads to one more, as a detail page leads to its bundle
      const auto next = r.tag + 4;
      engine.add(get(next, site.server.url("page" + std::to_string(next) + ".html"), kDefaultLane));
    }
    if (r.tag == 100) CHECK(fs::exists(dir / "slow.bin"));  // reported once under its final name
  });
  REQUIRE(order.size() == 9);
  CHECK(order.back() == 100);
}

TEST_CASE("requests added from another thread while a Hold keeps run() going", "[engine][lanes]") {
  Site site;
  site.put("first.txt", "1");
  site.put("later.txt", "2");
  TransferEngine engine(test_settings(), fast_retry(), 2);
  engine.add({1, site.server.url("first.txt"), {}, {}});
  std::map<std::uint64_t, std::string> bodies;
  const auto runner = std::this_thread::get_id();
  bool same_thread = true;
  std::thread worker;
  {
    auto hold = engine.hold();
    worker = std::thread([&engine, &site, held = std::move(hold)]() mutable {
      std::this_thread::sleep_for(milliseconds(300));  // run() would have returned long ago without the Hold
      engine.add({2, site.server.url("later.txt"), {}, {}});
      TransferEngine::Hold done = std::move(held);  // released here, after the add
    });
  }
  engine.run([&](Response&& r) {
    same_thread = same_thread && std::this_thread::get_id() == runner;
    bodies[r.tag] = r.body;
  });
  worker.join();
  CHECK(same_thread);
  CHECK(bodies == std::map<std::uint64_t, std::string>{{1, "1"}, {2, "2"}});
}

TEST_CASE("a stop ends run() even while a Hold is held", "[engine][lanes][stop]") {
  Site site;
  site.put("x.txt", "x");
  std::atomic<bool> stop{false};  // what the SIGINT/SIGTERM handler sets
  NetworkSettings settings = test_settings();
  settings.stop_flag = &stop;
  TransferEngine engine(settings, fast_retry(), 1);
  auto hold = engine.hold();
  engine.add({1, site.server.url("x.txt"), {}, {}});
  int done = 0;
  engine.run([&](Response&& r) {
    ++done;
    CHECK(r.outcome == Outcome::ok);
    stop = true;
  });
  CHECK(done == 1);
}

TEST_CASE("unknown lanes and HEAD requests with a file are refused at add()", "[engine][lanes]") {
  TransferEngine engine(test_settings(), fast_retry(), 1);
  CHECK_THROWS_AS(engine.add(get(1, "http://127.0.0.1:9/x", 7)), std::invalid_argument);
  Request head{1, "http://127.0.0.1:9/x", {}, "/tmp/x"};
  head.method = Method::head;
  CHECK_THROWS_AS(engine.add(head), std::invalid_argument);
}

TEST_CASE("requests one after the other reuse one connection, and stats count new connections", "[engine][lanes]") {
  Site site;
  for (int i = 0; i < 10; ++i) site.put("r" + std::to_string(i) + ".txt", "r");
  TransferEngine engine(test_settings(), fast_retry(), 1);
  for (int i = 0; i < 10; ++i) {
    engine.add({static_cast<std::uint64_t>(i), site.server.url("r" + std::to_string(i) + ".txt"), {}, {}});
  }
  int ok = 0;
  engine.run([&](Response&& r) {
    ok += r.outcome == Outcome::ok;
    CHECK(r.http_version == 11);
  });
  CHECK(ok == 10);
  CHECK(engine.stats().requests == 10);
  CHECK(engine.stats().connections == 1);
}
