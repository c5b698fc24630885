// The depot's document walk over a fake fetcher serving a generated depot: which documents it asks for, in
// how many rounds, conditionally or not, and what it makes of the answers; no network, no state.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>

#include <fmt/format.h>

#include "esxmirror/core/error.hpp"
#include "esxmirror/source/depot_walk.hpp"
#include "support/fake_fetcher.hpp"
#include "support/process.hpp"
#include "support/sample_depot.hpp"

using namespace esxmirror;
using namespace esxmirror::source;
using namespace esxmirror::source::depot;

namespace {

const std::string kRoot = "http://depot.test/PROD/COMP/ESX_HOST/main/";

// The depot's files under kRoot, each with an ETag.
testing::FakeFetcher serving(const testing::SampleDepot& depot) {
  testing::FakeFetcher fetcher;
  for (const auto& [path, bytes] : depot.files()) {
    fetcher.documents[kRoot + path] = {*bytes, fmt::format("\"{}\"", std::hash<std::string>{}(*bytes))};
  }
  return fetcher;
}

bool was_asked(const testing::FakeFetcher& fetcher, const std::string& path) {
  const std::vector<std::string> urls = fetcher.urls_asked();
  return std::find(urls.begin(), urls.end(), kRoot + path) != urls.end();
}

WalkPolicy policy_for(const std::filesystem::path& downloads, std::vector<std::string> versions) {
  return {kRoot + "vmw-depot-index.xml", {std::move(versions), {"embeddedEsx"}}, downloads, true, {}};
}

// What a run keeps of the walk for the next one (the catalog's part of core, in short).
WalkMemory remember(const DepotWalk& walk) {
  WalkMemory memory;
  auto keep = [&](const WalkedDocument& d) { memory.documents[d.relpath] = {d.response.validators, d.body, false}; };
  keep(walk.index);
  for (const WalkedVendor& v : walk.vendors) keep(v.index);
  for (const WalkedZip& z : walk.zips) memory.documents[z.relpath] = {z.response.validators, std::nullopt, true};
  return memory;
}

}  // namespace

TEST_CASE("depot walk: index, vendor index, then the selected zips, three rounds, each zip to its file", "[depot]") {
  const testing::SampleDepot depot = testing::SampleDepot::standard();
  testing::FakeFetcher fetcher = serving(depot);
  testing::TempDir dir;
  const util::Secrets secrets;
  const DepotWalk walk = walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, fetcher);

  CHECK(fetcher.rounds == std::vector<std::size_t>{1, 1, 3});  // 8.0.1, 8.0.2, 8.0.3 of embeddedEsx
  CHECK(walk.index.relpath == "vmw-depot-index.xml");
  CHECK(walk.index.body == depot.file("vmw-depot-index.xml"));
  REQUIRE(walk.vendors.size() == 1);
  CHECK(walk.vendors[0].index.relpath == depot.vendor_index_path());
  CHECK(walk.vendors[0].selected.size() == 3);
  REQUIRE(walk.zips.size() == 3);
  for (const WalkedZip& zip : walk.zips) {
    INFO(zip.relpath);
    CHECK(zip.request.file == dir.path() / zip.relpath);
    CHECK(zip.request.conditional.etag.empty());
    REQUIRE(zip.metadata);
    CHECK_FALSE(zip.metadata->vibs.empty());
  }
  CHECK(walk.zips[2].relpath == depot.zip_path("8.0.3"));
  CHECK(walk.documents_fetched == 5);
  CHECK(walk.documents_not_modified == 0);
  CHECK(walk.failures.empty());
  CHECK_FALSE(was_asked(fetcher, depot.zip_path("7.0.3")));
  CHECK_FALSE(was_asked(fetcher, depot.zip_path("8.0.3", "esxio")));
  // Never a VIB: the walk reads documents only.
  CHECK(std::none_of(fetcher.asked.begin(), fetcher.asked.end(),
                     [](const net::Request& r) { return r.url.ends_with(".vib"); }));
}

TEST_CASE("depot walk: a night with nothing new is 304s, remembered bodies, and no zip opened", "[depot]") {
  const testing::SampleDepot depot = testing::SampleDepot::standard();
  testing::FakeFetcher fetcher = serving(depot);
  testing::TempDir dir;
  const util::Secrets secrets;
  const DepotWalk first = walk_depot(policy_for(dir.path(), {"8.0.3"}), {}, secrets, fetcher);
  fetcher.asked.clear();
  fetcher.rounds.clear();

  const DepotWalk again = walk_depot(policy_for(dir.path(), {"8.0.3"}), remember(first), secrets, fetcher);
  CHECK(fetcher.rounds == std::vector<std::size_t>{1, 1, 1});
  for (const net::Request& r : fetcher.asked) CHECK_FALSE(r.conditional.etag.empty());
  CHECK(again.documents_not_modified == 3);
  CHECK(again.documents_fetched == 0);
  CHECK(again.index.remembered);
  CHECK(again.index.body == depot.file("vmw-depot-index.xml"));
  CHECK(again.vendors[0].index.remembered);
  CHECK(again.vendors[0].selected.size() == 1);
  REQUIRE(again.zips.size() == 1);
  CHECK(again.zips[0].response.outcome == net::Outcome::not_modified);
  CHECK_FALSE(again.zips[0].metadata);
}

TEST_CASE("depot walk: the index's refusals are the texts operators search for", "[depot]") {
  const testing::SampleDepot depot = testing::SampleDepot::standard();
  testing::TempDir dir;
  const util::Secrets secrets;
  auto refusal = [&](net::Outcome outcome, long status) {
    testing::FakeFetcher fetcher = serving(depot);
    fetcher.documents[kRoot + "vmw-depot-index.xml"].outcome = outcome;
    fetcher.documents[kRoot + "vmw-depot-index.xml"].status = status;
    try {
      walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, fetcher);
    } catch (const Error& e) {
      CHECK(e.code() == ExitCode::source);
      return std::string(e.what());
    }
    return std::string("no error");
  };
  CHECK_THAT(refusal(net::Outcome::auth, 401), Catch::Contains("the download token has expired"));
  CHECK_THAT(refusal(net::Outcome::auth, 403), Catch::Contains("not entitled"));
  CHECK_THAT(refusal(net::Outcome::not_found, 404), Catch::Contains("does not exist (HTTP 404): check --source"));

  testing::FakeFetcher html = serving(depot);
  html.documents[kRoot + "vmw-depot-index.xml"].body = "<html><body>Sign in</body></html>";
  CHECK_THROWS_WITH(walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, html),
                    Catch::Contains("is not a depot index"));

  testing::FakeFetcher stopped = serving(depot);
  stopped.documents[kRoot + "vmw-depot-index.xml"].outcome = net::Outcome::aborted;
  try {
    walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, stopped);
    FAIL("not interrupted");
  } catch (const Error& e) {
    CHECK(e.code() == ExitCode::interrupted);
  }
}

TEST_CASE("depot walk: a bad zip or an unreadable vendor index is named, the rest is read", "[depot]") {
  const testing::SampleDepot depot = testing::SampleDepot::standard();
  testing::TempDir dir;
  const util::Secrets secrets;

  testing::FakeFetcher bad_zip = serving(depot);
  bad_zip.documents[kRoot + depot.zip_path("8.0.2")].body = "not a zip at all";
  const DepotWalk walk = walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, bad_zip);
  REQUIRE(walk.zips.size() == 3);
  CHECK_FALSE(walk.zips[1].metadata);
  REQUIRE(walk.zips[1].error);
  CHECK_THAT(*walk.zips[1].error, Catch::Contains("vmw-ESXi-8.0.2-metadata.zip"));
  CHECK(walk.zips[0].metadata);
  CHECK(walk.zips[2].metadata);

  testing::FakeFetcher no_vendor = serving(depot);
  no_vendor.documents.erase(kRoot + depot.vendor_index_path());
  const DepotWalk partial = walk_depot(policy_for(dir.path(), {"8.0"}), {}, secrets, no_vendor);
  REQUIRE(partial.failures.size() == 1);
  CHECK_THAT(partial.failures[0], Catch::Contains("cannot read the vendor index") && Catch::Contains("HTTP 404"));
  CHECK_FALSE(partial.vendors[0].index.body);
  CHECK(partial.zips.empty());
}

TEST_CASE("depot walk: check's probe asks for each zip its own way and opens none", "[depot]") {
  const testing::SampleDepot depot = testing::SampleDepot::standard();
  testing::FakeFetcher fetcher = serving(depot);
  testing::TempDir dir;
  const util::Secrets secrets;
  WalkPolicy policy = policy_for(dir.path(), {"8.0.3"});
  policy.read_zips = false;
  std::vector<std::string> probed;
  policy.zip_request = [&](net::Request request, const std::string& relpath) {
    probed.push_back(relpath);
    request.file.clear();  // a HEAD has no body to land anywhere
    return request;
  };
  const DepotWalk walk = walk_depot(policy, {}, secrets, fetcher);
  CHECK(probed == std::vector<std::string>{depot.zip_path("8.0.3")});
  REQUIRE(walk.zips.size() == 1);
  CHECK(walk.zips[0].response.outcome == net::Outcome::ok);
  CHECK_FALSE(walk.zips[0].metadata);
  CHECK_FALSE(std::filesystem::exists(dir.path() / depot.zip_path("8.0.3")));
}
